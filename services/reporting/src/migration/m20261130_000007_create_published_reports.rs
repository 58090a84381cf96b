//! Published report snapshots: append-only. Triggers make the database
//! refuse an UPDATE or DELETE (and, on PostgreSQL, a TRUNCATE), whoever
//! runs it, as `audit_log` does; a restatement is a new row.

use academy_runtime::db::schema::{
    big_integer, blob, drop_append_only, id, instant, integer, make_append_only, table, text,
    unique_index,
};
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
        let reports = table(T::Table)
            .col(big_integer(T::Seq).auto_increment().primary_key())
            .col(id(T::Id).unique_key())
            .col(text(T::PeriodStart, 10))
            .col(text(T::PeriodEnd, 10))
            .col(id(T::ProgramId))
            .col(integer(T::Version))
            .col(instant(T::PublishTime))
            .col(text(T::Digest, 64))
            .col(blob(T::Content))
            .to_owned();
        manager.create_table(reports).await?;
        // One row per version of a period and program: two concurrent
        // restatements of the same version cannot both commit.
        manager
            .create_index(unique_index(
                "r_published_report_version",
                T::Table,
                &["period_start", "period_end", "program_id", "version"],
            ))
            .await?;
        make_append_only(manager, "r_published_report").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_append_only(manager, "r_published_report").await
    }
}
