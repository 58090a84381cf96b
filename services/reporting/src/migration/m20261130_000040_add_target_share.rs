//! Share targets (issue #18, item 3): `r_target.share` says whether a
//! target is a percentage of its dimension's total. A key can have an
//! absolute and a share target for the same metric, so `share` joins the
//! primary key; SQLite cannot change a primary key in place, so the table
//! is rebuilt (existing targets become absolute ones, `share` false).

use academy_runtime::db::schema::{self, double, id, instant, integer, long_text, text};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RTarget {
    ProgramId,
    PeriodStart,
    PeriodEnd,
    Metric,
    Dimension,
    Key,
    Share,
    Value,
    SetTime,
}

#[derive(DeriveIden)]
enum RTargetNext {
    Table,
}

const COLUMNS: &str =
    "program_id, period_start, period_end, metric, dimension, key, value, set_time";

/// `r_target` as it is after this migration, named `table`, with or
/// without `share` in the primary key.
fn create(table: impl IntoIden, with_share: bool) -> TableCreateStatement {
    use RTarget as T;
    let mut key = Index::create();
    key.col(T::ProgramId)
        .col(T::PeriodStart)
        .col(T::PeriodEnd)
        .col(T::Metric)
        .col(T::Dimension)
        .col(T::Key);
    let mut table_def = schema::table(table);
    table_def
        .col(id(T::ProgramId))
        .col(text(T::PeriodStart, 10))
        .col(text(T::PeriodEnd, 10))
        .col(integer(T::Metric))
        .col(integer(T::Dimension))
        .col(long_text(T::Key));
    if with_share {
        table_def.col(ColumnDef::new(T::Share).boolean().not_null().default(false));
        key.col(T::Share);
    }
    table_def
        .col(double(T::Value))
        .col(instant(T::SetTime))
        .primary_key(&mut key)
        .to_owned()
}

/// Copies, drops `from`, renames `to` into its place.
async fn rebuild(
    manager: &SchemaManager<'_>,
    from: &str,
    to: &str,
    with_share: bool,
) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "INSERT INTO {to} ({COLUMNS}) SELECT {COLUMNS} FROM {from}{}",
            // Going down, a key's share target has no place: only absolute
            // ones are kept.
            if with_share {
                ""
            } else {
                " WHERE share = FALSE"
            }
        ))
        .await?;
    schema::drop_table(manager, Alias::new(from)).await?;
    manager
        .rename_table(
            Table::rename()
                .table(Alias::new(to), Alias::new(from))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One transaction, so one connection: on SQLite a pooled connection
        // other than the one that dropped the old table may still see it
        // (and a failure half-way must not leave both tables behind).
        let txn = manager.begin().await?;
        txn.create_table(create(RTargetNext::Table, true)).await?;
        rebuild(&txn, "r_target", "r_target_next", true).await?;
        txn.commit().await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let txn = manager.begin().await?;
        txn.create_table(create(RTargetNext::Table, false)).await?;
        rebuild(&txn, "r_target", "r_target_next", false).await?;
        txn.commit().await
    }
}
