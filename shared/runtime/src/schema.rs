//! Column shapes every service's migrations use, so an id or an instant is
//! stored the same way in every database.

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

/// A (non-unique) index named `name` on `cols` of `table`.
pub fn index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for col in cols {
        index.col(Alias::new(*col));
    }
    index
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
