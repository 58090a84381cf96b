//! `r_enrollments` by learner: a merge of duplicate learners (issue #19)
//! hands the duplicate's enrollments to the survivor by learner id.

use academy_runtime::db::schema::{drop_index, index};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum REnrollments {
    Table,
}

const NAME: &str = "idx_r_enrollments_learner";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(NAME, REnrollments::Table, &["learner_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index(manager, NAME, REnrollments::Table).await
    }
}
