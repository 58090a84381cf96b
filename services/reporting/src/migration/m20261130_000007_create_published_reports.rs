//! Published report snapshots: append-only. Triggers make the database
//! refuse an UPDATE or DELETE (and, on PostgreSQL, a TRUNCATE), whoever
//! runs it, as `audit_log` does; a restatement is a new row.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RPublishedReport {
    Table,
    Seq,
    Id,
    PeriodStart,
    PeriodEnd,
    ProgramId,
    Version,
    PublishTime,
    Digest,
    Content,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RPublishedReport as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(
                        ColumnDef::new(T::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(T::Id).string_len(36).not_null().unique_key())
                    .col(ColumnDef::new(T::PeriodStart).string_len(10).not_null())
                    .col(ColumnDef::new(T::PeriodEnd).string_len(10).not_null())
                    .col(ColumnDef::new(T::ProgramId).string_len(36).not_null())
                    .col(ColumnDef::new(T::Version).integer().not_null())
                    .col(
                        ColumnDef::new(T::PublishTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(T::Digest).string_len(64).not_null())
                    .col(ColumnDef::new(T::Content).blob().not_null())
                    .to_owned(),
            )
            .await?;
        // One row per version of a period and program: two concurrent
        // restatements of the same version cannot both commit.
        manager
            .create_index(
                Index::create()
                    .name("r_published_report_version")
                    .table(T::Table)
                    .col(T::PeriodStart)
                    .col(T::PeriodEnd)
                    .col(T::ProgramId)
                    .col(T::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        academy_runtime::db::schema::make_append_only(manager, "r_published_report").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        academy_runtime::db::schema::drop_append_only(manager, "r_published_report").await
    }
}
