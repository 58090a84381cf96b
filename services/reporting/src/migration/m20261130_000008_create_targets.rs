//! Targets per program (or platform, ""), period and metric, optionally for
//! one dimension key (dimension 0 and key "" for a headline target).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RTarget {
    Table,
    ProgramId,
    PeriodStart,
    PeriodEnd,
    Metric,
    Dimension,
    Key,
    Value,
    SetTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RTarget as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(ColumnDef::new(T::ProgramId).string_len(36).not_null())
                    .col(ColumnDef::new(T::PeriodStart).string_len(10).not_null())
                    .col(ColumnDef::new(T::PeriodEnd).string_len(10).not_null())
                    .col(ColumnDef::new(T::Metric).integer().not_null())
                    .col(ColumnDef::new(T::Dimension).integer().not_null())
                    .col(ColumnDef::new(T::Key).text().not_null())
                    .col(ColumnDef::new(T::Value).double().not_null())
                    .col(
                        ColumnDef::new(T::SetTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(T::ProgramId)
                            .col(T::PeriodStart)
                            .col(T::PeriodEnd)
                            .col(T::Metric)
                            .col(T::Dimension)
                            .col(T::Key),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RTarget::Table).to_owned())
            .await
    }
}
