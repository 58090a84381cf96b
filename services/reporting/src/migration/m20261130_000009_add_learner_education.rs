//! `r_learners` gets the learner's education level (issue #17): "ISCED_0"
//! to "ISCED_8" or "unknown", the value the eighth breakdown dimension
//! groups by. Rows projected before it are "unknown", as are the events
//! written before producers carried it.

use academy_runtime::db::schema::{add_column, drop_column, text};
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
        let level = text(RLearners::EducationLevel, 16)
            .default(academy_domain::learner::UNKNOWN)
            .to_owned();
        add_column(manager, RLearners::Table, level).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_column(manager, RLearners::Table, RLearners::EducationLevel).await
    }
}
