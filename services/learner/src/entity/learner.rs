//! The sea-orm entity of the `learners` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "learners")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Normalised; `None` once erased.
    #[sea_orm(unique)]
    pub email: Option<String>,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub full_name: String,
    pub region: String,
    pub gender: String,
    pub birth_year: i32,
    pub employment_status: String,
    pub organization: String,
    /// ISCED 2011 level 0-8; `None` when unknown.
    pub education_level: Option<i32>,
    /// `ACTIVE` or `ERASED`.
    pub state: String,
    pub revision: i64,
    /// Business time of the registration (may be backfilled).
    pub register_time: DateTimeUtc,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
