//! The sea-orm entity of the `courses` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub code: String,
    pub title: String,
    pub description: String,
    pub provider: String,
    pub language: String,
    /// `BEGINNER`, `INTERMEDIATE` or `ADVANCED`.
    pub level: String,
    pub estimated_hours: f64,
    /// `DRAFT`, `PUBLISHED` or `ARCHIVED`.
    pub state: String,
    /// Bumped by every change; the etag is derived from it.
    pub revision: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
    pub publish_time: Option<DateTimeUtc>,
    /// When the course was archived (issue #17): the end of the window in
    /// which history may still be recorded into it.
    pub archive_time: Option<DateTimeUtc>,
    /// The provider's own id of the course (e.g. a slug); unique when set.
    #[sea_orm(unique)]
    pub provider_course_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
