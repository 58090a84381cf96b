//! Targets per program (or platform, ""), period and metric, optionally for
//! one dimension key (dimension 0 and key "" for a headline target).

use academy_runtime::db::schema::{
    double, drop_table, id, instant, integer, long_text, table, text,
};
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
        let targets = table(T::Table)
            .col(id(T::ProgramId))
            .col(text(T::PeriodStart, 10))
            .col(text(T::PeriodEnd, 10))
            .col(integer(T::Metric))
            .col(integer(T::Dimension))
            .col(long_text(T::Key))
            .col(double(T::Value))
            .col(instant(T::SetTime))
            .primary_key(
                Index::create()
                    .col(T::ProgramId)
                    .col(T::PeriodStart)
                    .col(T::PeriodEnd)
                    .col(T::Metric)
                    .col(T::Dimension)
                    .col(T::Key),
            )
            .to_owned();
        manager.create_table(targets).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, RTarget::Table).await
    }
}
