//! Idempotent creates (AIP-155): a create that carries a `request_id`
//! remembers which resource it made, in the same transaction, so a retry
//! returns that resource instead of making a second one.
//!
//! A key belongs to one caller and one method: it is the SHA-256 of the
//! token's subject, the operation and the request id, so one caller can
//! neither read nor pre-claim another's keys, and the request id's text
//! (often built from an e-mail) is never stored. Each key keeps a SHA-256
//! digest of the whole request: a replay with the same request answers the
//! first result, the same request id with a different request is
//! FAILED_PRECONDITION (`REQUEST_ID_REUSED`) and carries no data. Keys
//! expire after [`WINDOW`] (24 hours): a retry after that is a new request.
//! Erasing a learner deletes the keys of everything about the learner.

use academy_domain::DomainError;
use sea_orm::{ConnectionTrait, DbErr, Value};
use sea_orm_migration::prelude::*;

use crate::db::schema::{create_indexes, drop_table, id, index, instant, pair_key, table, text};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::db::sql::statement;
use crate::db::{db_error, is_unique_violation};

/// How long a request id is remembered.
pub const WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Expired keys are deleted at most this often per process (by the next
/// write that remembers a key).
const PURGE_EVERY_SECS: i64 = 600;

/// An error inside a write transaction: a rule the domain refused, or storage.
#[derive(Debug)]
pub enum WriteError {
    Domain(DomainError),
    Db(DbErr),
}

impl From<DbErr> for WriteError {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

impl From<DomainError> for WriteError {
    fn from(err: DomainError) -> Self {
        Self::Domain(err)
    }
}

impl From<WriteError> for DomainError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::Domain(err) => err,
            WriteError::Db(err) => db_error(err),
        }
    }
}

/// The idempotency key of one request: whose, for which method, and what
/// the request said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Hex SHA-256 of (caller, operation, request id).
    hash: String,
    /// Hex SHA-256 of the encoded request.
    digest: String,
}

impl Key {
    /// The key of `request` (which carries `request_id`) sent by the caller
    /// of the current call; `None` without a request id.
    pub fn new<M: prost::Message>(
        operation: &str,
        request_id: Option<&str>,
        request: &M,
    ) -> Option<Self> {
        let caller = crate::auth::call::current().actor;
        request_id.map(|request_id| Self::for_caller(&caller, operation, request_id, request))
    }

    /// The key of `request` sent by `caller`.
    pub fn for_caller<M: prost::Message>(
        caller: &str,
        operation: &str,
        request_id: &str,
        request: &M,
    ) -> Self {
        // Length-prefixed, so no two (caller, operation, id) triples collide.
        let mut hasher = Sha256::new();
        for part in [caller, operation, request_id] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Self {
            hash: hex(&hasher.finalize()),
            digest: hex(&Sha256::digest(request.encode_to_vec())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The error for a request id used before with a different request.
pub fn reused() -> DomainError {
    DomainError::precondition(
        "REQUEST_ID_REUSED",
        "this request_id was already used for a different request; send a new request_id",
    )
}

/// The resource an earlier call with this key created, if any; a key used
/// for a different request is [`reused`].
pub async fn replayed<C: ConnectionTrait>(
    db: &C,
    key: Option<&Key>,
) -> Result<Option<String>, DomainError> {
    let Some(key) = key else { return Ok(None) };
    match find(db, key).await.map_err(db_error)? {
        Some((digest, resource_id)) if digest == key.digest => Ok(Some(resource_id)),
        Some(_) => Err(reused()),
        None => Ok(None),
    }
}

/// Decides what a failed create returns. A conflict on a unique key (found
/// by a check or by a unique violation) means either a concurrent call with
/// the same key won (return its resource) or the key really is taken:
/// ALREADY_EXISTS (`on_conflict` for a bare unique violation).
pub async fn recover<C: ConnectionTrait>(
    db: &C,
    key: Option<&Key>,
    err: WriteError,
    on_conflict: impl FnOnce() -> DomainError,
) -> Result<String, DomainError> {
    let conflict = match err {
        WriteError::Db(db_err) if is_unique_violation(&db_err) => on_conflict(),
        WriteError::Domain(taken @ DomainError::AlreadyExists { .. }) => taken,
        other => return Err(other.into()),
    };
    match replayed(db, key).await? {
        Some(id) => Ok(id),
        None => Err(conflict),
    }
}

/// Longest accepted `request_id`; UUIDs and ULIDs fit with room to spare.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Checks a request id: empty (no idempotency) or printable, bounded text.
pub fn parse_request_id(raw: &str) -> Result<Option<String>, academy_domain::FieldViolation> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    academy_domain::text::required("request_id", trimmed, MAX_REQUEST_ID_LEN).map(Some)
}

fn cutoff() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - WINDOW
}

/// (digest, resource id) of a live key.
async fn find<C: ConnectionTrait>(db: &C, key: &Key) -> Result<Option<(String, String)>, DbErr> {
    let row = db
        .query_one_raw(statement(
            db,
            "SELECT request_digest, resource_id FROM idempotency_keys \
                 WHERE key_hash = ? AND create_time >= ?",
            [Value::from(key.hash.as_str()), Value::from(cutoff())],
        ))
        .await?;
    row.map(|row| {
        Ok((
            row.try_get("", "request_digest")?,
            row.try_get("", "resource_id")?,
        ))
    })
    .transpose()
}

/// What a bulk import knows of its keys: the live keys stored before it
/// and those of its own earlier rows, each with its request digest.
#[derive(Debug, Default)]
pub struct Used {
    digests: HashMap<String, String>,
}

impl Used {
    /// `None`: new; `Some(true)`: a replay; `Some(false)`: [`reused`].
    pub fn seen(&self, key: &Key) -> Option<bool> {
        self.digests.get(&key.hash).map(|d| *d == key.digest)
    }

    /// Like [`Used::seen`], and counts a new `key` as used from now on (a
    /// later row with it is a replay or a reuse).
    pub fn insert(&mut self, key: &Key) -> Option<bool> {
        let seen = self.seen(key);
        if seen.is_none() {
            self.digests.insert(key.hash.clone(), key.digest.clone());
        }
        seen
    }
}

/// Which of `keys` were used before (bulk imports).
pub async fn used<C: ConnectionTrait>(db: &C, keys: &[&Key]) -> Result<Used, DbErr> {
    let mut used = Used::default();
    for chunk in keys.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT key_hash, request_digest FROM idempotency_keys \
             WHERE create_time >= ? AND key_hash IN ({marks})"
        );
        let values = std::iter::once(Value::from(cutoff()))
            .chain(chunk.iter().map(|k| Value::from(k.hash.as_str())));
        let rows = db.query_all_raw(statement(db, &sql, values)).await?;
        for row in rows {
            used.digests.insert(
                row.try_get("", "key_hash")?,
                row.try_get("", "request_digest")?,
            );
        }
    }
    Ok(used)
}

/// Records many `(key, resource_id)` pairs at once.
pub async fn remember_many<C: ConnectionTrait>(
    txn: &C,
    operation: &str,
    pairs: &[(Key, String)],
) -> Result<(), DbErr> {
    if pairs.is_empty() {
        return Ok(());
    }
    purge_expired(txn).await?;
    let now = chrono::Utc::now();
    for chunk in pairs.chunks(200) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql =
            format!("DELETE FROM idempotency_keys WHERE create_time < ? AND key_hash IN ({marks})");
        let values = std::iter::once(Value::from(cutoff()))
            .chain(chunk.iter().map(|(k, _)| Value::from(k.hash.as_str())));
        txn.execute_raw(statement(txn, &sql, values)).await?;
        let marks = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO idempotency_keys \
             (key_hash, operation, request_digest, resource_id, create_time) VALUES {marks}"
        );
        let values = chunk.iter().flat_map(|(key, resource_id)| {
            [
                Value::from(key.hash.as_str()),
                Value::from(operation),
                Value::from(key.digest.as_str()),
                Value::from(resource_id.as_str()),
                Value::from(now),
            ]
        });
        txn.execute_raw(statement(txn, &sql, values)).await?;
    }
    Ok(())
}

/// Records that the request of `key` created `resource_id`. A concurrent
/// call with the same key makes this fail with a unique violation; the
/// caller then rolls back and returns what [`replayed`] gives.
pub async fn remember<C: ConnectionTrait>(
    txn: &C,
    operation: &str,
    key: &Key,
    resource_id: &str,
) -> Result<(), DbErr> {
    remember_many(txn, operation, &[(key.clone(), resource_id.to_owned())]).await
}

/// Deletes the keys of requests that created or changed any of
/// `resource_ids` (an erased learner and their enrollments).
pub async fn forget<C: ConnectionTrait>(txn: &C, resource_ids: &[String]) -> Result<(), DbErr> {
    for chunk in resource_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("DELETE FROM idempotency_keys WHERE resource_id IN ({marks})");
        txn.execute_raw(statement(
            txn,
            &sql,
            chunk.iter().map(|id| Value::from(id.as_str())),
        ))
        .await?;
    }
    Ok(())
}

/// Unix second of the last purge in this process.
static LAST_PURGE: AtomicI64 = AtomicI64::new(0);

/// Deletes every expired key, at most once per [`PURGE_EVERY_SECS`].
async fn purge_expired<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    let now = chrono::Utc::now().timestamp();
    let last = LAST_PURGE.load(Ordering::Relaxed);
    if now - last < PURGE_EVERY_SECS
        || LAST_PURGE
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return Ok(());
    }
    txn.execute_raw(statement(
        txn,
        "DELETE FROM idempotency_keys WHERE create_time < ?",
        [Value::from(cutoff())],
    ))
    .await?;
    Ok(())
}

/// The first `idempotency_keys` table (request ids shared by every caller),
/// listed by each service among its migrations; superseded by
/// [`ScopeIdempotencyKeys`].
#[derive(Debug)]
pub struct CreateIdempotencyKeys;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Operation,
    RequestId,
    KeyHash,
    RequestDigest,
    ResourceId,
    CreateTime,
}

impl MigrationName for CreateIdempotencyKeys {
    fn name(&self) -> &str {
        "m20261128_000002_create_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateIdempotencyKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let keys = table(IdempotencyKeys::Table)
            .col(text(IdempotencyKeys::Operation, 32))
            .col(text(IdempotencyKeys::RequestId, 128))
            .col(id(IdempotencyKeys::ResourceId))
            .col(instant(IdempotencyKeys::CreateTime))
            .primary_key(&mut pair_key(
                IdempotencyKeys::Operation,
                IdempotencyKeys::RequestId,
            ))
            .to_owned();
        manager.create_table(keys).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, IdempotencyKeys::Table).await
    }
}

/// Replaces the shared, plain-text keys with per-caller hashed keys and
/// request digests. Keys remembered before it are dropped: a retry of a
/// call made before the upgrade is treated as a new request.
#[derive(Debug)]
pub struct ScopeIdempotencyKeys;

impl MigrationName for ScopeIdempotencyKeys {
    fn name(&self) -> &str {
        "m20261130_000001_scope_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ScopeIdempotencyKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, IdempotencyKeys::Table).await?;
        let keys = table(IdempotencyKeys::Table)
            .col(text(IdempotencyKeys::KeyHash, 64).primary_key())
            .col(text(IdempotencyKeys::Operation, 32))
            .col(text(IdempotencyKeys::RequestDigest, 64))
            .col(id(IdempotencyKeys::ResourceId))
            .col(instant(IdempotencyKeys::CreateTime))
            .to_owned();
        manager.create_table(keys).await?;
        create_indexes(
            manager,
            [
                index(
                    "idx_idempotency_keys_resource",
                    IdempotencyKeys::Table,
                    &["resource_id"],
                ),
                index(
                    "idx_idempotency_keys_time",
                    IdempotencyKeys::Table,
                    &["create_time"],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, IdempotencyKeys::Table).await?;
        CreateIdempotencyKeys.up(manager).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_caller_operation_and_id_and_digests_by_request() {
        let request = academy_proto::learner::EnrollRequest {
            learner_id: "a".into(),
            request_id: "r-1".into(),
            ..Default::default()
        };
        let base = Key::for_caller("alice", "Enroll", "r-1", &request);
        assert_eq!(base, Key::for_caller("alice", "Enroll", "r-1", &request));
        for other in [
            Key::for_caller("bob", "Enroll", "r-1", &request),
            Key::for_caller("alice", "RegisterLearner", "r-1", &request),
            Key::for_caller("alice", "Enroll", "r-2", &request),
            // No ambiguity from where one part ends and the next begins.
            Key::for_caller("aliceE", "nroll", "r-1", &request),
        ] {
            assert_ne!(base.hash, other.hash);
        }
        let changed = academy_proto::learner::EnrollRequest {
            course_id: "c".into(),
            ..request.clone()
        };
        let again = Key::for_caller("alice", "Enroll", "r-1", &changed);
        assert_eq!(base.hash, again.hash);
        assert_ne!(base.digest, again.digest);
        assert_eq!(base.hash.len(), 64);
        assert!(!base.hash.contains("r-1"));
    }

    #[tokio::test]
    async fn the_caller_of_the_current_call_owns_the_key() {
        let request = academy_proto::learner::EnrollRequest::default();
        let call = |actor: &str| crate::auth::call::CallInfo {
            actor: actor.into(),
            method: "/academy.learner.v1.EnrollmentService/Enroll".into(),
        };
        let alice = crate::auth::call::with_call(call("alice"), async {
            Key::new("Enroll", Some("r-1"), &request)
        })
        .await;
        let bob = crate::auth::call::with_call(call("bob"), async {
            Key::new("Enroll", Some("r-1"), &request)
        })
        .await;
        assert!(alice.is_some() && bob.is_some());
        assert_ne!(alice, bob);
        assert_eq!(Key::new("Enroll", None, &request), None);
    }
}
