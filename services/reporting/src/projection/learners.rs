//! Learners, enrollments, program membership and activity.

use academy_proto::events::{
    EnrollmentCreated, LearnerRegistered, LearnerUpdated, ProgressRecorded,
};
use academy_runtime::feed::ApplyError;
use chrono::NaiveDate;
use sea_orm::{DatabaseTransaction, Value};

use super::exec;

pub(super) async fn registered(
    txn: &DatabaseTransaction,
    e: &LearnerRegistered,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "INSERT INTO r_learners (learner_id, register_day, region, gender, birth_year, employment_status, organization) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (learner_id) DO NOTHING",
        vec![
            Value::from(e.learner_id.as_str()),
            Value::from(day),
            Value::from(e.region.as_str()),
            Value::from(e.gender.as_str()),
            Value::from(e.birth_year),
            Value::from(e.employment_status.as_str()),
            Value::from(e.organization.as_str()),
        ],
    )
    .await?;
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
