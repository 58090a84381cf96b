//! The sea-orm entity of the `invitations` table: one row as the store reads and
//! writes it.

use sea_orm::entity::prelude::*;

/// One person invited to one program.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub program_id: String,
    /// Set when the invitee is a known learner (at invitation or join).
    pub learner_id: Option<String>,
    /// Normalised, as invited; `None` when not given or erased.
    pub email: Option<String>,
    /// As invited; `None` when not given or erased.
    pub external_id: Option<String>,
    /// `INVITED`, `JOINED` or `DECLINED` (EXPIRED is computed on read).
    pub state: String,
    pub invite_time: DateTimeUtc,
    pub expire_time: Option<DateTimeUtc>,
    pub join_time: Option<DateTimeUtc>,
    pub decline_time: Option<DateTimeUtc>,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
