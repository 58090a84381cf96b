//! One module per resource: each function is one RPC's body — validate,
//! run the transaction (state change + outbox event), convert back.

pub mod courses;
pub mod programs;
pub mod skills;

use academy_domain::{DomainError, id};
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

/// What a Create call names besides its resource.
#[derive(Debug, Clone, Copy)]
pub struct Creation<'a> {
    /// The RPC, the namespace of its request ids.
    pub operation: &'static str,
    pub key: Option<&'a Key>,
    /// The error when a concurrent writer took the resource's unique key.
    pub taken: fn() -> DomainError,
}

/// What CreateSkill, CreateCourse and CreateProgram share: a request id
/// used before answers the first call's resource. Otherwise one
/// transaction runs `insert` (its checks and row, given the new id and
/// the time; it returns the event to emit), remembers the request id and
/// emits the event. A unique key another writer took first is answered as
/// that earlier call's resource, or as `taken`. Returns the id.
pub async fn create_once(
    ctx: &Context,
    creation: Creation<'_>,
    insert: impl AsyncFnOnce(&DatabaseTransaction, &str, DateTime<Utc>) -> Result<Payload, WriteError>,
) -> Result<String, DomainError> {
    let Creation {
        operation,
        key,
        taken,
    } = creation;
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
        let event = insert(uow.txn(), &id, now).await?;
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
