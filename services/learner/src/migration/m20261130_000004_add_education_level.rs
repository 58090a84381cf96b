//! Learners get an education level (issue #17): an ISCED 2011 level 0-8,
//! NULL when unknown, so rows written before it read as unknown.

use academy_runtime::db::schema::{add_column, drop_column};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Learners {
    Table,
    EducationLevel,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let level = ColumnDef::new(Learners::EducationLevel)
            .integer()
            .null()
            .to_owned();
        add_column(manager, Learners::Table, level).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_column(manager, Learners::Table, Learners::EducationLevel).await
    }
}
