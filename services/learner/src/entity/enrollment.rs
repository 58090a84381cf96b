//! The sea-orm entity of the `enrollments` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub learner_id: String,
    pub course_id: String,
    pub program_id: Option<String>,
    /// `ENROLLED`, `IN_PROGRESS`, `COMPLETED` or `WITHDRAWN`.
    pub state: String,
    /// `learner_id:course_id` unless withdrawn (unique).
    #[sea_orm(unique)]
    pub active_key: Option<String>,
    /// The course's module ids at enrollment time, comma-separated, in order.
    pub module_ids: String,
    /// The course's skill ids at enrollment time, comma-separated.
    pub skill_ids: String,
    /// Completed module ids, comma-separated, in completion order.
    pub completed_module_ids: String,
    pub minutes_spent: i64,
    pub enroll_time: DateTimeUtc,
    pub complete_time: Option<DateTimeUtc>,
    pub withdraw_time: Option<DateTimeUtc>,
    /// The provider's overall progress, 0-100: the highest reported.
    pub percent_complete: i32,
    /// The provider's grade in hundredths of a point (0-10000); NULL until
    /// reported.
    pub grade_centi: Option<i32>,
    /// Latest business time of any progress recorded.
    pub last_activity_time: Option<DateTimeUtc>,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
