//! What every service's migrations state their tables with: column shapes
//! (so an id or an instant is stored the same way in every database),
//! tables, keys and indexes, and the statements that create and drop them.

use sea_orm_migration::prelude::*;

/// A resource id: a UUIDv7 in its 36-character text form.
pub fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(36).not_null().to_owned()
}

/// A UTC instant (`timestamptz` on PostgreSQL, ISO-8601 text on SQLite).
pub fn instant(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

/// A resource id that may be absent (NULL).
pub fn optional_id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(36).null().to_owned()
}

/// A UTC instant that may be absent (NULL).
pub fn optional_instant(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

/// A calendar day.
pub fn day(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).date().not_null().to_owned()
}

/// A calendar day that may be absent (NULL).
pub fn optional_day(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).date().null().to_owned()
}

/// Text of at most `len` characters.
pub fn text(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().to_owned()
}

/// Text of at most `len` characters that may be absent (NULL).
pub fn optional_text(col: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).null().to_owned()
}

/// Text of any length.
pub fn long_text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

/// A 32-bit integer.
pub fn integer(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

/// A 64-bit integer (sequences, counts, minutes, revisions).
pub fn big_integer(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

/// A double-precision number.
pub fn double(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).double().not_null().to_owned()
}

/// Bytes (an encoded protobuf message).
pub fn blob(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).blob().not_null().to_owned()
}

/// A table named `name`, to add columns to.
pub fn table(name: impl IntoIden) -> TableCreateStatement {
    Table::create().table(name).to_owned()
}

/// The primary key of a table keyed by two columns.
pub fn pair_key(first: impl IntoIden, second: impl IntoIden) -> IndexCreateStatement {
    Index::create().col(first).col(second).to_owned()
}

/// A foreign key: `table.col` references `target.target_col`.
pub fn references(
    table: impl IntoIden,
    col: impl IntoIden,
    target: impl IntoIden,
    target_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(target, target_col)
        .to_owned()
}

/// A (non-unique) index named `name` on `cols` of `table`.
pub fn index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for col in cols {
        index.col(Alias::new(*col));
    }
    index
}

/// A unique index named `name` on `cols` of `table` (several NULLs may
/// coexist under it, in both databases).
pub fn unique_index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    index(name, table, cols).unique().to_owned()
}

/// Creates `tables`, in the order given (referenced tables first).
pub async fn create_tables(
    manager: &SchemaManager<'_>,
    tables: impl IntoIterator<Item = TableCreateStatement>,
) -> Result<(), DbErr> {
    for table in tables {
        manager.create_table(table).await?;
    }
    Ok(())
}

/// Creates `indexes`.
pub async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: impl IntoIterator<Item = IndexCreateStatement>,
) -> Result<(), DbErr> {
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

/// Drops the index `name` of `table`.
pub async fn drop_index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(table).to_owned())
        .await
}

/// Adds `column` to `table`.
pub async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

/// Drops `column` of `table`.
pub async fn drop_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

/// Drops `table`.
pub async fn drop_table(manager: &SchemaManager<'_>, table: impl IntoIden) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(table).to_owned())
        .await
}

/// Drops `tables` in the order given (dependants first).
pub async fn drop_tables(manager: &SchemaManager<'_>, tables: Vec<DynIden>) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    Ok(())
}

/// Makes `table` append-only, whoever connects: triggers refuse an UPDATE or
/// DELETE (and, on PostgreSQL, a TRUNCATE). The audit log and published
/// report snapshots rely on it.
pub async fn make_append_only(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend};
    let refuse = format!("'{table} is append-only'");
    let statements = match manager.get_connection().get_database_backend() {
        DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION {refuse}; END $$"
            ),
            format!(
                "CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            ),
            format!(
                "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
            ),
        ],
        _ => vec![
            format!(
                "CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} \
                 BEGIN SELECT RAISE(ABORT, {refuse}); END"
            ),
            format!(
                "CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} \
                 BEGIN SELECT RAISE(ABORT, {refuse}); END"
            ),
        ],
    };
    for statement in statements {
        manager
            .get_connection()
            .execute_unprepared(&statement)
            .await?;
    }
    Ok(())
}

/// Drops an append-only `table` and, on PostgreSQL, its guard function (the
/// triggers go with the table).
pub async fn drop_append_only(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend};
    let db = manager.get_connection();
    db.execute_unprepared(&format!("DROP TABLE {table}"))
        .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("DROP FUNCTION {table}_append_only()"))
            .await?;
    }
    Ok(())
}
