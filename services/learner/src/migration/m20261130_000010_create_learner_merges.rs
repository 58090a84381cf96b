//! Merge tombstones (issue #19): which learner each MERGED learner went into.

use academy_runtime::db::schema::{id, index, instant, integer, long_text, table};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum LearnerMerges {
    Table,
    DuplicateId,
    SurvivorId,
    MergeTime,
    MovedEnrollmentIds,
    FoldedEnrollmentIds,
    MovedCertificates,
    MovedEarnedSkills,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let merges = table(LearnerMerges::Table)
            .col(id(LearnerMerges::DuplicateId).primary_key())
            .col(id(LearnerMerges::SurvivorId))
            .col(instant(LearnerMerges::MergeTime))
            // What moved, so a replayed request answers as the first.
            .col(long_text(LearnerMerges::MovedEnrollmentIds))
            .col(long_text(LearnerMerges::FoldedEnrollmentIds))
            .col(integer(LearnerMerges::MovedCertificates))
            .col(integer(LearnerMerges::MovedEarnedSkills))
            .to_owned();
        manager.create_table(merges).await?;
        manager
            .create_index(index(
                "idx_learner_merges_survivor",
                LearnerMerges::Table,
                &["survivor_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LearnerMerges::Table).to_owned())
            .await
    }
}
