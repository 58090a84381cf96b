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

use crate::engine::Engine;

/// The reporting projections, fed by both the course and the learner feed:
/// the durable tables, then (once a batch commits) the in-memory model.
#[derive(Debug, Default)]
pub struct Projector {
    engine: Engine,
}

impl Projector {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

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
            // Reports do not follow merges yet (issue #19 item 3): stop
            // loudly, as for an unknown event, rather than count wrongly.
            Payload::LearnerMerged(_) => return Err(not_understood()),
        }
        Ok(())
    }

    /// Runs of registrations, enrollments or progress (an import's or a
    /// bulk call's backlog) go in multi-row statements; everything else one
    /// event at a time.
    async fn apply_all(
        &self,
        txn: &DatabaseTransaction,
        source: &str,
        events: &[&Event],
    ) -> Result<(), ApplyError> {
        let mut rest = events;
        while let Some(first) = rest.first() {
            let kind = run_kind(first);
            let run = match kind {
                Some(k) => rest.iter().take_while(|e| run_kind(e) == Some(k)).count(),
                None => 1,
            };
            match kind {
                Some(k) if run > 1 => learners::apply_run(txn, k, &rest[..run]).await?,
                _ => self.apply(txn, source, first).await?,
            }
            rest = &rest[run..];
        }
        Ok(())
    }

    fn committed(&self, source: &str, events: &[&Event]) {
        self.engine.apply(source, events);
    }

    fn memory_position(&self, source: &str) -> Option<i64> {
        Some(self.engine.position(source))
    }
}

/// The kind of run an event can be written in, if any.
fn run_kind(event: &Event) -> Option<learners::Run> {
    match event.payload {
        Some(Payload::LearnerRegistered(_)) => Some(learners::Run::Registrations),
        Some(Payload::EnrollmentCreated(_)) => Some(learners::Run::Enrollments),
        Some(Payload::ProgressRecorded(_)) => Some(learners::Run::Progress),
        _ => None,
    }
}

/// The UTC calendar day of an event's business time.
pub(crate) fn event_day(event: &Event) -> Option<NaiveDate> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::Migrator;
    use academy_proto::events::LearnerRegistered;
    use academy_runtime::db;
    use sea_orm::TransactionTrait;

    fn registration(sequence: i64, learner_id: &str, dated: bool) -> Event {
        Event {
            sequence,
            r#type: "learner.registered".into(),
            occurred_at: dated.then_some(prost_types::Timestamp {
                seconds: 1_750_000_000,
                nanos: 0,
            }),
            payload: Some(Payload::LearnerRegistered(LearnerRegistered {
                learner_id: learner_id.into(),
                region: "Baku".into(),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    async fn learner_ids(conn: &sea_orm::DatabaseConnection) -> Vec<String> {
        conn.query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT learner_id FROM r_learners ORDER BY learner_id",
        ))
        .await
        .expect("query")
        .iter()
        .map(|row| row.try_get("", "learner_id").expect("column"))
        .collect()
    }

    #[tokio::test]
    async fn a_run_of_registrations_keeps_what_precedes_an_event_it_cannot_read() {
        let dir = academy_testkit::TestDb::sqlite();
        let conn = db::connect(&dir.url).await.expect("connect");
        db::migrate::<Migrator>(&conn).await.expect("migrate");
        // A replayed registration (b twice) in the same run, then an event
        // without a time, then one that must not be applied.
        let events = [
            registration(1, "a", true),
            registration(2, "b", true),
            registration(3, "b", true),
            registration(4, "c", false),
            registration(5, "d", true),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let txn = conn.begin().await.expect("begin");
        let result = Projector::default().apply_all(&txn, "learner", &refs).await;
        txn.commit().await.expect("commit");
        match result {
            Err(ApplyError::NotUnderstood { sequence, .. }) => assert_eq!(sequence, 4),
            other => panic!("expected event 4 refused, got {other:?}"),
        }
        assert_eq!(learner_ids(&conn).await, ["a", "b"]);
    }

    /// Reports do not follow merges yet (#19 item 3): a `learner.merged`
    /// stops the projection before it, so no figure counts the merge wrongly.
    #[tokio::test]
    async fn a_merge_stops_the_projection_before_it() {
        let dir = academy_testkit::TestDb::sqlite();
        let conn = db::connect(&dir.url).await.expect("connect");
        db::migrate::<Migrator>(&conn).await.expect("migrate");
        let mut merged = registration(3, "a", true);
        merged.r#type = "learner.merged".into();
        merged.payload = Some(Payload::LearnerMerged(
            academy_proto::events::LearnerMerged {
                survivor_learner_id: "a".into(),
                duplicate_learner_id: "b".into(),
                ..Default::default()
            },
        ));
        let events = [
            registration(1, "a", true),
            registration(2, "b", true),
            merged,
            registration(4, "c", true),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let txn = conn.begin().await.expect("begin");
        let result = Projector::default().apply_all(&txn, "learner", &refs).await;
        txn.commit().await.expect("commit");
        match result {
            Err(ApplyError::NotUnderstood { sequence, kind }) => {
                assert_eq!((sequence, kind.as_str()), (3, "learner.merged"))
            }
            other => panic!("expected the merge refused, got {other:?}"),
        }
        assert_eq!(learner_ids(&conn).await, ["a", "b"]);
        let mut model = crate::engine::model::Model::default();
        assert_eq!(
            model.apply_all("learner", &events),
            Err(crate::engine::model::Stop::NotUnderstood(3))
        );
    }
}
