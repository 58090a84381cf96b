//! One module per resource: each function is one RPC's body — validate,
//! run the transaction (state change + outbox event), convert back.

pub mod courses;
pub mod programs;
pub mod skills;

use academy_domain::{DomainError, id};
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::feed::Outbox;
use sea_orm::DatabaseConnection;

/// What every handler needs: the database and the change feed.
#[derive(Debug, Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
}

/// The key of a create request's request id. It is taken before the
/// request is consumed; the caller reports its violations after those of
/// the resource.
pub fn request_key<M: prost::Message>(
    operation: &str,
    request_id: &str,
    req: &M,
) -> Result<Option<Key>, academy_domain::FieldViolation> {
    idempotency::parse_request_id(request_id)
        .map(|request_id| Key::new(operation, request_id.as_deref(), req))
}

/// What CreateSkill, CreateCourse and CreateProgram share: a request id
/// used before answers the first call's resource; otherwise `insert` runs
/// with a new id, and a unique key another writer took first is answered
/// as that earlier call's resource, or as `taken`. Returns the id.
pub async fn create_once<Fut>(
    ctx: &Context,
    key: Option<&Key>,
    insert: impl FnOnce(String) -> Fut,
    taken: impl FnOnce() -> DomainError,
) -> Result<String, DomainError>
where
    Fut: Future<Output = Result<String, WriteError>>,
{
    if let Some(id) = idempotency::replayed(&ctx.db, key).await? {
        return Ok(id);
    }
    match insert(id::new_id()).await {
        Ok(id) => Ok(id),
        Err(err) => idempotency::recover(&ctx.db, key, err, taken).await,
    }
}
