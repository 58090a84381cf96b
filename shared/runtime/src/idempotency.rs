//! Idempotent creates (AIP-155): a create that carries a `request_id`
//! remembers which resource it made, in the same transaction, so a retry
//! returns that resource instead of making a second one.

use academy_domain::DomainError;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use sea_orm_migration::prelude::*;

use crate::db::{db_error, is_unique_violation};
use crate::feed::outbox::placeholders;

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

/// The resource an earlier call with this request id created, if any.
pub async fn replayed<C: ConnectionTrait>(
    db: &C,
    operation: &str,
    request_id: Option<&str>,
) -> Result<Option<String>, DomainError> {
    match request_id {
        Some(request_id) => find(db, operation, request_id).await.map_err(db_error),
        None => Ok(None),
    }
}

/// Decides what a failed create returns. A conflict on a unique key (found
/// by a check or by a unique violation) means either a concurrent call with
/// the same request id won (return its resource) or the key really is
/// taken: ALREADY_EXISTS (`on_conflict` for a bare unique violation).
pub async fn recover<C: ConnectionTrait>(
    db: &C,
    operation: &str,
    request_id: Option<&str>,
    err: WriteError,
    on_conflict: impl FnOnce() -> DomainError,
) -> Result<String, DomainError> {
    let conflict = match err {
        WriteError::Db(db_err) if is_unique_violation(&db_err) => on_conflict(),
        WriteError::Domain(taken @ DomainError::AlreadyExists { .. }) => taken,
        other => return Err(other.into()),
    };
    match replayed(db, operation, request_id).await? {
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

/// The id of the resource an earlier call with this request id created.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    operation: &str,
    request_id: &str,
) -> Result<Option<String>, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                "SELECT resource_id FROM idempotency_keys WHERE operation = ? AND request_id = ?",
            ),
            [Value::from(operation), Value::from(request_id)],
        ))
        .await?;
    row.map(|row| row.try_get("", "resource_id")).transpose()
}

/// Which of `request_ids` were already used for `operation` (bulk imports).
pub async fn used<C: ConnectionTrait>(
    db: &C,
    operation: &str,
    request_ids: &[String],
) -> Result<Vec<String>, DbErr> {
    if request_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let marks = vec!["?"; request_ids.len()].join(", ");
    let sql = format!(
        "SELECT request_id FROM idempotency_keys WHERE operation = ? AND request_id IN ({marks})"
    );
    let values = std::iter::once(Value::from(operation))
        .chain(request_ids.iter().map(|r| Value::from(r.as_str())));
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            placeholders(backend, &sql),
            values,
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get("", "request_id"))
        .collect()
}

/// Records many `(request_id, resource_id)` pairs at once.
pub async fn remember_many<C: ConnectionTrait>(
    txn: &C,
    operation: &str,
    pairs: &[(String, String)],
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let now = chrono::Utc::now();
    for chunk in pairs.chunks(500) {
        let marks = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO idempotency_keys (operation, request_id, resource_id, create_time) VALUES {marks}"
        );
        let values = chunk.iter().flat_map(|(request_id, resource_id)| {
            [
                Value::from(operation),
                Value::from(request_id.as_str()),
                Value::from(resource_id.as_str()),
                Value::from(now),
            ]
        });
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            placeholders(backend, &sql),
            values,
        ))
        .await?;
    }
    Ok(())
}

/// Records that `request_id` created `resource_id`. A concurrent call with
/// the same request id makes this fail with a unique violation; the caller
/// then rolls back and returns what [`find`] gives.
pub async fn remember<C: ConnectionTrait>(
    txn: &C,
    operation: &str,
    request_id: &str,
    resource_id: &str,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        placeholders(
            backend,
            "INSERT INTO idempotency_keys (operation, request_id, resource_id, create_time) VALUES (?, ?, ?, ?)",
        ),
        [
            Value::from(operation),
            Value::from(request_id),
            Value::from(resource_id),
            Value::from(chrono::Utc::now()),
        ],
    ))
    .await?;
    Ok(())
}

/// The `idempotency_keys` table, listed by each service among its migrations.
#[derive(Debug)]
pub struct CreateIdempotencyKeys;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Operation,
    RequestId,
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
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(
                        ColumnDef::new(IdempotencyKeys::Operation)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::RequestId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::ResourceId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::Operation)
                            .col(IdempotencyKeys::RequestId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
