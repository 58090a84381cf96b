//! Appending events inside a transaction, and reading them back in order.

use academy_proto::events::{Event, event::Payload};
use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use tokio::sync::watch;

use crate::db::sql::statement;
use crate::time::timestamp;

/// Hands out sequences and wakes live subscribers after a commit.
#[derive(Debug, Clone)]
pub struct Outbox {
    committed: watch::Sender<u64>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    pub fn new() -> Self {
        Self {
            committed: watch::Sender::new(0),
        }
    }

    /// Writes several events with consecutive sequences (one counter bump
    /// for the whole batch) in the caller's transaction; returns the last
    /// sequence, or the current head when `events` is empty. Only a
    /// [`crate::write::UnitOfWork`] appends: it also writes the audit entry
    /// and calls [`Outbox::committed`] after its commit.
    pub(crate) async fn append_many<C: ConnectionTrait>(
        &self,
        txn: &C,
        events: Vec<(DateTime<Utc>, Payload)>,
    ) -> Result<i64, DbErr> {
        let count = events.len() as i64;
        let bumped = txn
            .query_one_raw(statement(
                txn,
                "UPDATE feed_head SET sequence = sequence + ? WHERE id = 1 RETURNING sequence",
                [Value::from(count)],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("feed_head row is missing".into()))?;
        let last: i64 = bumped.try_get("", "sequence")?;
        let record_time = Utc::now();
        // Multi-row INSERTs in chunks keep statements under SQLite's and
        // PostgreSQL's bind-parameter limits.
        let rows: Vec<Vec<Value>> = events
            .into_iter()
            .enumerate()
            .map(|(i, (occurred_at, payload))| {
                let sequence = last - count + 1 + i as i64;
                event_row(sequence, occurred_at, record_time, payload)
            })
            .collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            let values = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO feed_events (sequence, event_type, occurred_at, record_time, subject_id, payload) VALUES {values}"
            );
            txn.execute_raw(statement(txn, &sql, chunk.iter().flatten().cloned()))
                .await?;
        }
        Ok(last)
    }

    /// Wakes subscribers waiting for new events; called after commit.
    pub(crate) fn committed(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }
}

/// Rows per multi-row INSERT (6 bind parameters each).
const INSERT_CHUNK: usize = 500;

fn event_row(
    sequence: i64,
    occurred_at: DateTime<Utc>,
    record_time: DateTime<Utc>,
    payload: Payload,
) -> Vec<Value> {
    let r#type = event_type(&payload).to_owned();
    let subject = subject_of(&payload).map(str::to_owned);
    let event = Event {
        sequence,
        occurred_at: Some(timestamp(occurred_at)),
        r#type: r#type.clone(),
        record_time: Some(timestamp(record_time)),
        payload: Some(payload),
        // Stamped when served: a restored database serves its new epoch.
        feed_epoch: String::new(),
    };
    vec![
        Value::from(sequence),
        Value::from(r#type),
        Value::from(occurred_at),
        Value::from(record_time),
        Value::from(subject),
        Value::from(event.encode_to_vec()),
    ]
}

/// Rewrites, in the caller's transaction, every stored event about
/// `subject_id` with `redact` (erasure: personal data must not survive in the
/// feed either). Sequences and types stay; returns how many were rewritten.
pub async fn redact<C: ConnectionTrait>(
    txn: &C,
    subject_id: &str,
    redact: impl Fn(&mut Payload),
) -> Result<u64, DbErr> {
    let rows = txn
        .query_all_raw(statement(
            txn,
            "SELECT sequence, payload FROM feed_events WHERE subject_id = ?",
            [Value::from(subject_id)],
        ))
        .await?;
    let mut rewritten = 0;
    for row in rows {
        let sequence: i64 = row.try_get("", "sequence")?;
        let bytes: Vec<u8> = row.try_get("", "payload")?;
        let mut event = decode(&bytes)?;
        let Some(payload) = event.payload.as_mut() else {
            continue;
        };
        redact(payload);
        txn.execute_raw(statement(
            txn,
            "UPDATE feed_events SET payload = ? WHERE sequence = ?",
            [Value::from(event.encode_to_vec()), Value::from(sequence)],
        ))
        .await?;
        rewritten += 1;
    }
    Ok(rewritten)
}

fn decode(bytes: &[u8]) -> Result<Event, DbErr> {
    Event::decode(bytes).map_err(|err| DbErr::Custom(format!("undecodable outbox row: {err}")))
}

/// Up to `limit` events with a sequence above `after`, in order.
pub async fn read_after<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<Event>, DbErr> {
    let rows = db
        .query_all_raw(statement(
            db,
            "SELECT payload FROM feed_events WHERE sequence > ? ORDER BY sequence LIMIT ?",
            [Value::from(after), Value::from(limit as i64)],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let bytes: Vec<u8> = row.try_get("", "payload")?;
            Event::decode(bytes.as_slice())
                .map_err(|err| DbErr::Custom(format!("undecodable outbox row: {err}")))
        })
        .collect()
}

/// The newest sequence and when it was recorded.
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<(i64, Option<DateTime<Utc>>), DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT sequence, record_time FROM feed_events ORDER BY sequence DESC LIMIT 1",
        ))
        .await?;
    match row {
        None => Ok((0, None)),
        Some(row) => Ok((
            row.try_get("", "sequence")?,
            row.try_get("", "record_time")?,
        )),
    }
}

/// The learner an event is about, if any: the key erasure redacts by.
pub fn subject_of(payload: &Payload) -> Option<&str> {
    match payload {
        Payload::LearnerRegistered(e) => Some(&e.learner_id),
        Payload::LearnerUpdated(e) => Some(&e.learner_id),
        Payload::LearnerErased(e) => Some(&e.learner_id),
        Payload::EnrollmentCreated(e) => Some(&e.learner_id),
        Payload::ProgressRecorded(e) => Some(&e.learner_id),
        Payload::EnrollmentCompleted(e) => Some(&e.learner_id),
        Payload::CertificateIssued(e) => Some(&e.learner_id),
        Payload::EnrollmentWithdrawn(e) => Some(&e.learner_id),
        Payload::LearnerMerged(e) => Some(&e.survivor_learner_id),
        // Provider progress (issue #17).
        Payload::ProgressReported(e) => Some(&e.learner_id),
        Payload::CompletionRedated(e) => Some(&e.learner_id),
        Payload::InvitationCreated(e) if !e.learner_id.is_empty() => Some(&e.learner_id),
        Payload::InvitationJoined(e) => Some(&e.learner_id),
        Payload::InvitationCreated(_)
        | Payload::InvitationDeclined(_)
        | Payload::SkillCreated(_)
        | Payload::CourseCreated(_)
        | Payload::CourseUpdated(_)
        | Payload::CoursePublished(_)
        | Payload::CourseArchived(_)
        | Payload::ProgramCreated(_)
        | Payload::CourseAddedToProgram(_) => None,
    }
}

/// The stable dotted name of an event, e.g. `course.published`.
pub fn event_type(payload: &Payload) -> &'static str {
    match payload {
        Payload::SkillCreated(_) => "skill.created",
        Payload::CourseCreated(_) => "course.created",
        Payload::CourseUpdated(_) => "course.updated",
        Payload::CoursePublished(_) => "course.published",
        Payload::CourseArchived(_) => "course.archived",
        Payload::ProgramCreated(_) => "program.created",
        Payload::CourseAddedToProgram(_) => "course.added_to_program",
        Payload::LearnerRegistered(_) => "learner.registered",
        Payload::LearnerUpdated(_) => "learner.updated",
        Payload::LearnerErased(_) => "learner.erased",
        Payload::EnrollmentCreated(_) => "enrollment.created",
        Payload::ProgressRecorded(_) => "progress.recorded",
        Payload::EnrollmentCompleted(_) => "enrollment.completed",
        Payload::CertificateIssued(_) => "certificate.issued",
        Payload::EnrollmentWithdrawn(_) => "enrollment.withdrawn",
        Payload::LearnerMerged(_) => "learner.merged",
        // Provider progress (issue #17).
        Payload::ProgressReported(_) => "progress.reported",
        Payload::CompletionRedated(_) => "completion.redated",
        Payload::InvitationCreated(_) => "invitation.created",
        Payload::InvitationJoined(_) => "invitation.joined",
        Payload::InvitationDeclined(_) => "invitation.declined",
    }
}
