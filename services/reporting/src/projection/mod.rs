//! Applies change-feed events to the read model. One function per event
//! family; each runs inside the follower's transaction, next to the cursor.

mod catalog;
mod learners;

use academy_proto::events::Event;
use academy_proto::events::event::Payload;
use academy_runtime::feed::outbox::placeholders;
use academy_runtime::feed::{ApplyError, Projection};
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement, Value};

/// The reporting projections, fed by both the course and the learner feed.
#[derive(Debug, Default)]
pub struct Projector;

#[async_trait::async_trait]
impl Projection for Projector {
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        _source: &str,
        event: &Event,
    ) -> Result<(), ApplyError> {
        let not_understood = || ApplyError::NotUnderstood {
            sequence: event.sequence,
            kind: event.r#type.clone(),
        };
        let day = event_day(event).ok_or_else(not_understood)?;
        let Some(payload) = &event.payload else {
            return Err(not_understood());
        };
        match payload {
            Payload::SkillCreated(e) => catalog::skill(txn, e).await?,
            Payload::CourseCreated(e) => catalog::course(txn, e.course.as_ref()).await?,
            Payload::CourseUpdated(e) => catalog::course(txn, e.course.as_ref()).await?,
            Payload::CoursePublished(e) => catalog::course(txn, e.course.as_ref()).await?,
            Payload::CourseArchived(e) => catalog::course(txn, e.course.as_ref()).await?,
            Payload::ProgramCreated(e) => catalog::program(txn, &e.program_id, &e.name).await?,
            Payload::CourseAddedToProgram(_) => {}
            Payload::LearnerRegistered(e) => learners::registered(txn, e, day).await?,
            Payload::LearnerUpdated(e) => learners::updated(txn, e).await?,
            Payload::LearnerErased(e) => learners::erased(txn, &e.learner_id).await?,
            Payload::EnrollmentCreated(e) => learners::enrolled(txn, e, day).await?,
            Payload::ProgressRecorded(e) => learners::progress(txn, e, day).await?,
            Payload::EnrollmentCompleted(e) => {
                learners::completed(txn, &e.enrollment_id, day).await?
            }
            Payload::CertificateIssued(e) => {
                learners::certified(txn, &e.enrollment_id, day).await?
            }
            // Withdrawn enrollments still count as enrollments.
            Payload::EnrollmentWithdrawn(_) => {}
        }
        Ok(())
    }
}

/// The UTC calendar day of an event's business time.
fn event_day(event: &Event) -> Option<NaiveDate> {
    academy_runtime::time::parse_timestamp("occurred_at", event.occurred_at.as_ref())
        .ok()
        .flatten()
        .map(|at| at.date_naive())
}

/// Runs one statement with `?` placeholders.
async fn exec(txn: &DatabaseTransaction, sql: &str, values: Vec<Value>) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        placeholders(backend, sql),
        values,
    ))
    .await?;
    Ok(())
}

/// Empties every projection (a rebuild replays the feeds from sequence 0).
pub async fn clear<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    for table in [
        "r_learners",
        "r_enrollments",
        "r_program_members",
        "r_activity",
        "r_courses",
        "r_course_skills",
        "r_skills",
        "r_programs",
    ] {
        txn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    academy_runtime::feed::cursor::reset(txn).await
}
