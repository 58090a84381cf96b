//! The sea-orm entity of the `learner_merges` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

/// A MERGED learner's tombstone: the survivor it was merged into.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "learner_merges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub duplicate_id: String,
    pub survivor_id: String,
    pub merge_time: DateTimeUtc,
    /// Comma-separated, as in the MergeLearners answer.
    pub moved_enrollment_ids: String,
    pub folded_enrollment_ids: String,
    pub moved_certificates: i32,
    pub moved_earned_skills: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
