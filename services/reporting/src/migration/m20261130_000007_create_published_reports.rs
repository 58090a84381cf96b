//! Published report snapshots: append-only. Triggers make the database
//! refuse an UPDATE or DELETE (and, on PostgreSQL, a TRUNCATE), whoever
//! runs it, as `audit_log` does; a restatement is a new row.

use sea_orm::{ConnectionTrait, DbBackend};
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

const SQLITE_GUARDS: &[&str] = &[
    "CREATE TRIGGER r_published_report_no_update BEFORE UPDATE ON r_published_report \
     BEGIN SELECT RAISE(ABORT, 'r_published_report is append-only'); END",
    "CREATE TRIGGER r_published_report_no_delete BEFORE DELETE ON r_published_report \
     BEGIN SELECT RAISE(ABORT, 'r_published_report is append-only'); END",
];

const POSTGRES_GUARDS: &[&str] = &[
    "CREATE FUNCTION r_published_report_append_only() RETURNS trigger LANGUAGE plpgsql AS \
     $$ BEGIN RAISE EXCEPTION 'r_published_report is append-only'; END $$",
    "CREATE TRIGGER r_published_report_no_change BEFORE UPDATE OR DELETE ON r_published_report \
     FOR EACH ROW EXECUTE FUNCTION r_published_report_append_only()",
    "CREATE TRIGGER r_published_report_no_truncate BEFORE TRUNCATE ON r_published_report \
     FOR EACH STATEMENT EXECUTE FUNCTION r_published_report_append_only()",
];

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
        let db = manager.get_connection();
        let guards = match db.get_database_backend() {
            DbBackend::Postgres => POSTGRES_GUARDS,
            _ => SQLITE_GUARDS,
        };
        for statement in guards {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE r_published_report")
            .await?;
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION r_published_report_append_only()")
                .await?;
        }
        Ok(())
    }
}
