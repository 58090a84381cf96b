//! The `audit_log` table. Every service lists [`CreateAuditLog`] among its
//! migrations. Triggers make it append-only on both backends: an UPDATE or
//! DELETE (or, on PostgreSQL, a TRUNCATE) fails, whoever runs it.

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
        crate::db::schema::make_append_only(manager, "audit_log").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::db::schema::drop_append_only(manager, "audit_log").await
    }
}
