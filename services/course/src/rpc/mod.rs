//! One module per resource: each function is one RPC's body — validate,
//! run the transaction (state change + outbox event), convert back.

pub mod courses;
pub mod programs;
pub mod skills;

use academy_domain::{DomainError, FieldViolation, id};
use academy_proto::events::event::Payload;
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::feed::Outbox;
use academy_runtime::write::UnitOfWork;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

/// What every handler needs: the database and the change feed.
#[derive(Debug, Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
}

/// The key of a create request's request id, taken before the request is
/// consumed.
pub fn request_key<M: prost::Message>(
    operation: &str,
    request_id: &str,
    req: &M,
) -> Result<Option<Key>, FieldViolation> {
    idempotency::parse_request_id(request_id)
        .map(|request_id| Key::new(operation, request_id.as_deref(), req))
}

/// What CreateSkill, CreateCourse and CreateProgram share. The new
/// resource's violations come first, then the request id's (`key`). A
/// request id used before answers the first call's resource. Otherwise one
/// transaction runs `insert` (the resource's checks and rows, given its new
/// id and the time; it returns the event to emit), remembers the request id
/// and emits the event. A unique key another writer took first is answered
/// as that earlier call's resource, or as `taken`. Returns the id.
pub async fn create_once<New>(
    ctx: &Context,
    operation: &'static str,
    key: Result<Option<Key>, FieldViolation>,
    new: Result<New, DomainError>,
    taken: fn() -> DomainError,
    insert: impl AsyncFnOnce(
        &DatabaseTransaction,
        &str,
        &New,
        DateTime<Utc>,
    ) -> Result<Payload, WriteError>,
) -> Result<String, DomainError> {
    let new = new?;
    let key = key?;
    let key = key.as_ref();
    if let Some(id) = idempotency::replayed(&ctx.db, key).await? {
        return Ok(id);
    }
    let written: Result<String, WriteError> = async {
        let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
        // Checked again under the write lock: a concurrent retry.
        if let Some(existing) = uow.replayed(key).await? {
            return Ok(existing);
        }
        let (id, now) = (id::new_id(), Utc::now());
        let event = insert(uow.txn(), &id, &new, now).await?;
        uow.remember(operation, key, &id).await?;
        uow.emit(now, event).await?;
        uow.commit().await?;
        Ok(id)
    }
    .await;
    match written {
        Ok(id) => Ok(id),
        Err(err) => idempotency::recover(&ctx.db, key, err, taken).await,
    }
}
