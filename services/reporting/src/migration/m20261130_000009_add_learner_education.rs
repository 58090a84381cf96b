//! `r_learners` gets the learner's education level (issue #17): "ISCED_0"
//! to "ISCED_8" or "unknown", the value the eighth breakdown dimension
//! groups by. Rows projected before it are "unknown", as are the events
//! written before producers carried it.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RLearners {
    Table,
    EducationLevel,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RLearners::Table)
                    .add_column(
                        ColumnDef::new(RLearners::EducationLevel)
                            .string_len(16)
                            .not_null()
                            .default(academy_domain::learner::UNKNOWN),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RLearners::Table)
                    .drop_column(RLearners::EducationLevel)
                    .to_owned(),
            )
            .await
    }
}
