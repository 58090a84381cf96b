//! Learners, enrollments, program membership and activity.

use academy_proto::events::event::Payload;
use academy_proto::events::{
    EnrollmentCreated, Event, LearnerRegistered, LearnerUpdated, ProgressRecorded,
};
use academy_runtime::feed::ApplyError;
use chrono::NaiveDate;
use sea_orm::{DatabaseTransaction, Value};

use super::exec;

const INSERT_LEARNERS: &str = "INSERT INTO r_learners \
    (learner_id, register_day, region, gender, birth_year, employment_status, organization) VALUES";
/// Seven bind parameters a row: far below both backends' limits.
const ROWS_PER_INSERT: usize = 500;

pub(super) async fn registered(
    txn: &DatabaseTransaction,
    e: &LearnerRegistered,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    insert_learners(txn, vec![learner_row(e, day)]).await
}

/// A run of registration events in multi-row statements. Events before one
/// that is not understood are applied; it and the rest are not.
pub(super) async fn registered_run(
    txn: &DatabaseTransaction,
    events: &[&Event],
) -> Result<(), ApplyError> {
    let mut rows = Vec::with_capacity(events.len());
    let mut refused = None;
    for event in events {
        match (&event.payload, super::event_day(event)) {
            (Some(Payload::LearnerRegistered(e)), Some(day)) => rows.push(learner_row(e, day)),
            _ => {
                refused = Some(ApplyError::NotUnderstood {
                    sequence: event.sequence,
                    kind: event.r#type.clone(),
                });
                break;
            }
        }
    }
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert_learners(txn, chunk.to_vec()).await?;
    }
    refused.map_or(Ok(()), Err)
}

fn learner_row(e: &LearnerRegistered, day: NaiveDate) -> [Value; 7] {
    [
        Value::from(e.learner_id.as_str()),
        Value::from(day),
        Value::from(e.region.as_str()),
        Value::from(e.gender.as_str()),
        Value::from(e.birth_year),
        Value::from(e.employment_status.as_str()),
        Value::from(e.organization.as_str()),
    ]
}

/// A learner registered twice (a replayed event) keeps its first row, also
/// within one statement.
async fn insert_learners(
    txn: &DatabaseTransaction,
    rows: Vec<[Value; 7]>,
) -> Result<(), ApplyError> {
    let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; rows.len()].join(", ");
    let sql = format!("{INSERT_LEARNERS} {values} ON CONFLICT (learner_id) DO NOTHING");
    exec(txn, &sql, rows.into_iter().flatten().collect()).await?;
    Ok(())
}

/// Breakdowns use each learner's current attributes.
pub(super) async fn updated(
    txn: &DatabaseTransaction,
    e: &LearnerUpdated,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "UPDATE r_learners SET region = ?, gender = ?, birth_year = ?, employment_status = ?, organization = ? \
         WHERE learner_id = ?",
        vec![
            Value::from(e.region.as_str()),
            Value::from(e.gender.as_str()),
            Value::from(e.birth_year),
            Value::from(e.employment_status.as_str()),
            Value::from(e.organization.as_str()),
            Value::from(e.learner_id.as_str()),
        ],
    )
    .await?;
    Ok(())
}

/// An erased learner still counts; the organisation is personal data.
pub(super) async fn erased(txn: &DatabaseTransaction, learner_id: &str) -> Result<(), ApplyError> {
    exec(
        txn,
        "UPDATE r_learners SET organization = '' WHERE learner_id = ?",
        vec![Value::from(learner_id)],
    )
    .await?;
    Ok(())
}

pub(super) async fn enrolled(
    txn: &DatabaseTransaction,
    e: &EnrollmentCreated,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "INSERT INTO r_enrollments (enrollment_id, learner_id, course_id, program_id, enroll_day) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (enrollment_id) DO NOTHING",
        vec![
            Value::from(e.enrollment_id.as_str()),
            Value::from(e.learner_id.as_str()),
            Value::from(e.course_id.as_str()),
            Value::from(e.program_id.as_str()),
            Value::from(day),
        ],
    )
    .await?;
    if !e.program_id.is_empty() {
        // Backfilled history may arrive out of day order: keep the earliest.
        exec(
            txn,
            "INSERT INTO r_program_members (program_id, learner_id, first_day) VALUES (?, ?, ?) \
             ON CONFLICT (program_id, learner_id) DO UPDATE SET first_day = \
             CASE WHEN excluded.first_day < r_program_members.first_day \
             THEN excluded.first_day ELSE r_program_members.first_day END",
            vec![
                Value::from(e.program_id.as_str()),
                Value::from(e.learner_id.as_str()),
                Value::from(day),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn progress(
    txn: &DatabaseTransaction,
    e: &ProgressRecorded,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "INSERT INTO r_activity (learner_id, program_id, course_id, day, minutes) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (learner_id, program_id, course_id, day) \
         DO UPDATE SET minutes = r_activity.minutes + excluded.minutes",
        vec![
            Value::from(e.learner_id.as_str()),
            Value::from(e.program_id.as_str()),
            Value::from(e.course_id.as_str()),
            Value::from(day),
            Value::from(i64::from(e.minutes_spent)),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn completed(
    txn: &DatabaseTransaction,
    enrollment_id: &str,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "UPDATE r_enrollments SET complete_day = ? WHERE enrollment_id = ?",
        vec![Value::from(day), Value::from(enrollment_id)],
    )
    .await?;
    Ok(())
}

pub(super) async fn certified(
    txn: &DatabaseTransaction,
    enrollment_id: &str,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "UPDATE r_enrollments SET certificate_day = ? WHERE enrollment_id = ?",
        vec![Value::from(day), Value::from(enrollment_id)],
    )
    .await?;
    Ok(())
}
