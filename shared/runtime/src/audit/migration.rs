//! The `audit_log` table. Every service lists [`CreateAuditLog`] among its
//! migrations. Triggers make it append-only on both backends: an UPDATE or
//! DELETE (or, on PostgreSQL, a TRUNCATE) fails, whoever runs it.

use sea_orm_migration::prelude::*;

use crate::db::schema::{
    big_integer, create_indexes, drop_append_only, index, instant, long_text, make_append_only,
    table,
};

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

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let log = table(AuditLog::Table)
            .col(big_integer(AuditLog::Id).auto_increment().primary_key())
            .col(instant(AuditLog::RecordTime))
            .col(long_text(AuditLog::Actor))
            .col(long_text(AuditLog::Method))
            .col(long_text(AuditLog::Action))
            .col(long_text(AuditLog::ResourceId))
            .col(big_integer(AuditLog::ChangeCount))
            .col(big_integer(AuditLog::FirstSequence))
            .col(big_integer(AuditLog::LastSequence))
            .to_owned();
        manager.create_table(log).await?;
        // The filters of ListAuditEntries, newest first.
        create_indexes(
            manager,
            [
                index("audit_log_actor", AuditLog::Table, &["actor", "id"]),
                index(
                    "audit_log_resource",
                    AuditLog::Table,
                    &["resource_id", "id"],
                ),
            ],
        )
        .await?;
        make_append_only(manager, "audit_log").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_append_only(manager, "audit_log").await
    }
}
