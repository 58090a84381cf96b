//! Learners get an education level (issue #17): an ISCED 2011 level 0-8,
//! NULL when unknown, so rows written before it read as unknown.

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
        manager
            .alter_table(
                Table::alter()
                    .table(Learners::Table)
                    .add_column(ColumnDef::new(Learners::EducationLevel).integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Learners::Table)
                    .drop_column(Learners::EducationLevel)
                    .to_owned(),
            )
            .await
    }
}
