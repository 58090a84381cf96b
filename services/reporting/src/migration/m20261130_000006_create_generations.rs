//! Which generation of the projections the tables hold, and which one an
//! operator asked for (RebuildProjections): one row, id 1.

use academy_runtime::db::schema::{big_integer, drop_table, integer, table};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RGeneration {
    Table,
    Id,
    CurrentGeneration,
    RequestedGeneration,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let generation = table(RGeneration::Table)
            .col(integer(RGeneration::Id).primary_key())
            .col(big_integer(RGeneration::CurrentGeneration))
            .col(big_integer(RGeneration::RequestedGeneration))
            .to_owned();
        manager.create_table(generation).await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO r_generation (id, current_generation, requested_generation) VALUES (1, 0, 0)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, RGeneration::Table).await
    }
}
