//! The sea-orm entity of the `certificates` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Printed on the certificate; VerifyCertificate looks it up.
    #[sea_orm(unique)]
    pub code: String,
    #[sea_orm(unique)]
    pub enrollment_id: String,
    pub learner_id: String,
    pub course_id: String,
    pub issue_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
