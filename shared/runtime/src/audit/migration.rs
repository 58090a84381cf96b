//! The `audit_log` table. Every service lists [`CreateAuditLog`] among its
//! migrations. Triggers make it append-only on both backends: an UPDATE or
//! DELETE (or, on PostgreSQL, a TRUNCATE) fails, whoever runs it.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub struct CreateAuditLog;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    RecordTime,
    Actor,
    Method,
    Action,
    ResourceId,
    ChangeCount,
    FirstSequence,
    LastSequence,
}

impl MigrationName for CreateAuditLog {
    fn name(&self) -> &str {
        "m20261129_000001_create_audit_log"
    }
}

const SQLITE_GUARDS: &[&str] = &[
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
];

const POSTGRES_GUARDS: &[&str] = &[
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS \
     $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log \
     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log \
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
];

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(
                        ColumnDef::new(AuditLog::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::RecordTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::Actor).text().not_null())
                    .col(ColumnDef::new(AuditLog::Method).text().not_null())
                    .col(ColumnDef::new(AuditLog::Action).text().not_null())
                    .col(ColumnDef::new(AuditLog::ResourceId).text().not_null())
                    .col(
                        ColumnDef::new(AuditLog::ChangeCount)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::FirstSequence)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::LastSequence)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The filters of ListAuditEntries, newest first.
        for (name, column) in [
            ("audit_log_actor", AuditLog::Actor),
            ("audit_log_resource", AuditLog::ResourceId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(column)
                        .col(AuditLog::Id)
                        .to_owned(),
                )
                .await?;
        }
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
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP TABLE audit_log").await?;
            db.execute_unprepared("DROP FUNCTION audit_log_append_only()")
                .await?;
            return Ok(());
        }
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
