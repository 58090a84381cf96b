//! One module per resource: each function is one RPC's body — validate,
//! run the transaction (state change + outbox event), convert back.

pub mod courses;
pub mod programs;
pub mod skills;

use academy_runtime::feed::Outbox;
use sea_orm::DatabaseConnection;

/// What every handler needs: the database and the change feed.
#[derive(Debug, Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
}
