//! The append-only audit log: who (token subject) changed what, and when;
//! and who read whose personal data ([`record_reads`]).
//!
//! The caller travels with the call: the auth layer runs every handler
//! inside [`with_call`], and [`record`] reads it back. Writes in course and
//! learner record their entry from `write::UnitOfWork::emit`, in the same
//! transaction as the change and its feed events, so no handler can forget
//! to audit and an entry exists exactly when its change committed.

pub mod migration;
pub mod service;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr, Value};

use crate::auth::call::current;
use crate::db::sql::statement;

pub use service::AuditService;

/// One committed change, as the audit log describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The feed event type written (the first, for several), or the
    /// operation's name when no event is written.
    pub action: String,
    pub resource_id: String,
    /// Rows changed (more than one for bulk calls).
    pub count: i64,
    /// Feed events written, inclusive; 0 and 0 for none.
    pub first_sequence: i64,
    pub last_sequence: i64,
}

/// Appends an entry for `change`, made by the current caller, in the
/// caller's transaction `txn`.
pub async fn record<C: ConnectionTrait>(txn: &C, change: Change) -> Result<(), DbErr> {
    let call = current();
    txn.execute_raw(statement(
        txn,
        "INSERT INTO audit_log (record_time, actor, method, action, resource_id, \
             change_count, first_sequence, last_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            Value::from(Utc::now()),
            Value::from(call.actor),
            Value::from(call.method),
            Value::from(change.action),
            Value::from(change.resource_id),
            Value::from(change.count),
            Value::from(change.first_sequence),
            Value::from(change.last_sequence),
        ],
    ))
    .await?;
    Ok(())
}

/// Appends one entry per resource whose personal data the current caller
/// read (`action` e.g. `learner.read`; no change, so no count of changed
/// rows and no feed sequences): who read whose record. Outside a
/// transaction; a read whose entries cannot be written is to fail.
pub async fn record_reads<C: ConnectionTrait>(
    db: &C,
    action: &str,
    resource_ids: &[String],
) -> Result<(), DbErr> {
    let call = current();
    let now = Utc::now();
    // 5 bound values a row: 100 rows stay far below every backend's limit.
    for chunk in resource_ids.chunks(100) {
        let rows = vec!["(?, ?, ?, ?, ?, 0, 0, 0)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO audit_log (record_time, actor, method, action, resource_id, \
             change_count, first_sequence, last_sequence) VALUES {rows}"
        );
        let values = chunk.iter().flat_map(|id| {
            [
                Value::from(now),
                Value::from(call.actor.clone()),
                Value::from(call.method.clone()),
                Value::from(action.to_owned()),
                Value::from(id.clone()),
            ]
        });
        db.execute_raw(statement(db, &sql, values)).await?;
    }
    Ok(())
}
