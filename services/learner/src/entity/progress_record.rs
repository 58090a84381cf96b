//! The sea-orm entity of the `progress_records` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

/// One RecordProgress call, kept as history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "progress_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub enrollment_id: String,
    pub module_id: String,
    pub minutes_spent: i32,
    pub occurred_at: DateTimeUtc,
    pub create_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
