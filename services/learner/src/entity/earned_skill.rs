//! The sea-orm entity of the `earned_skills` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

/// A skill a learner earned by completing an enrollment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "earned_skills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub enrollment_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: String,
    pub learner_id: String,
    pub earn_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
