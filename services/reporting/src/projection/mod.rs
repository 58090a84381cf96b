//! Applies change-feed events to the read model. One function per event
//! family; each runs inside the follower's transaction, next to the cursor.

mod catalog;
mod invitations;
mod learners;

use academy_proto::events::Event;
use academy_proto::events::event::Payload;
use academy_runtime::db::sql::statement;
use academy_runtime::feed::{ApplyError, Projection};
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Value};

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
                learners::set_enrollment_day(txn, learners::COMPLETE_DAY, &e.enrollment_id, day)
                    .await?
            }
            Payload::CertificateIssued(e) => {
                learners::set_enrollment_day(txn, learners::CERTIFICATE_DAY, &e.enrollment_id, day)
                    .await?
            }
            // Withdrawn enrollments still count as enrollments.
            Payload::EnrollmentWithdrawn(_) => {}
            Payload::LearnerMerged(e) => {
                learners::merged(txn, e).await?;
                invitations::merged(txn, e).await?;
            }
            // Provider progress (issue #17): activity on the row's day; a
            // re-dated completion moves the completion and the certificate.
            Payload::ProgressReported(e) => {
                learners::activity(
                    txn,
                    learners::Activity {
                        learner_id: &e.learner_id,
                        program_id: &e.program_id,
                        course_id: &e.course_id,
                        day,
                        minutes: i64::from(e.minutes_spent),
                    },
                )
                .await?
            }
            Payload::CompletionRedated(e) => {
                learners::set_enrollment_day(txn, learners::COMPLETE_DAY, &e.enrollment_id, day)
                    .await?;
                learners::set_enrollment_day(txn, learners::CERTIFICATE_DAY, &e.enrollment_id, day)
                    .await?
            }
            Payload::InvitationCreated(e) => invitations::created(txn, e, day).await?,
            Payload::InvitationJoined(e) => invitations::joined(txn, e, day).await?,
            // Declined invitations still count as invited.
            Payload::InvitationDeclined(_) => {}
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
        Some(Payload::ProgressRecorded(_) | Payload::ProgressReported(_)) => {
            Some(learners::Run::Progress)
        }
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
    txn.execute_raw(statement(txn, sql, values)).await?;
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
        "r_invitations",
    ] {
        txn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    academy_runtime::feed::cursor::reset(txn).await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::migration::Migrator;
    use academy_proto::events::LearnerRegistered;
    use academy_runtime::db;
    use sea_orm::Statement;
    use sea_orm::TransactionTrait;

    /// A learner's registration in Baku, at a fixed time when `dated`.
    pub(crate) fn registration(sequence: i64, learner_id: &str, dated: bool) -> Event {
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

    /// An event of `kind` on day `day` (days after 2025-06-15).
    fn event(sequence: i64, day: i64, payload: Payload) -> Event {
        Event {
            sequence,
            r#type: "test".into(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_750_000_000 + day * 86_400,
                nanos: 0,
            }),
            payload: Some(payload),
            ..Default::default()
        }
    }

    fn enrolled(learner: &str, enrollment: &str, course: &str, program: &str) -> Payload {
        Payload::EnrollmentCreated(academy_proto::events::EnrollmentCreated {
            enrollment_id: enrollment.into(),
            learner_id: learner.into(),
            course_id: course.into(),
            program_id: program.into(),
            ..Default::default()
        })
    }

    fn progress(learner: &str, enrollment: &str, course: &str, program: &str) -> Payload {
        Payload::ProgressRecorded(academy_proto::events::ProgressRecorded {
            enrollment_id: enrollment.into(),
            learner_id: learner.into(),
            course_id: course.into(),
            program_id: program.into(),
            minutes_spent: 30,
            ..Default::default()
        })
    }

    /// b (registered first) is merged into a; both enrolled in c1 in the
    /// program, b's enrollment (completed, certified) is kept and a's is
    /// folded into it; b's c2 enrollment moves.
    fn history_with_a_merge() -> Vec<Event> {
        use academy_proto::events::{CertificateIssued, EnrollmentCompleted, LearnerMerged};
        let mut events = vec![registration(1, "a", true), registration(2, "b", true)];
        events[1].occurred_at = Some(prost_types::Timestamp {
            seconds: 1_750_000_000 - 20 * 86_400,
            nanos: 0,
        });
        let mut sequence = 2;
        let mut next = |day, payload| {
            sequence += 1;
            event(sequence, day, payload)
        };
        events.extend([
            next(1, enrolled("a", "ea", "c1", "p")),
            next(3, enrolled("b", "eb", "c1", "p")),
            next(4, enrolled("b", "eb2", "c2", "")),
            next(5, progress("a", "ea", "c1", "p")),
            next(5, progress("b", "eb", "c1", "p")),
            next(6, progress("b", "eb2", "c2", "")),
            next(
                7,
                Payload::EnrollmentCompleted(EnrollmentCompleted {
                    enrollment_id: "eb".into(),
                    learner_id: "b".into(),
                    ..Default::default()
                }),
            ),
            next(
                8,
                Payload::CertificateIssued(CertificateIssued {
                    enrollment_id: "eb".into(),
                    learner_id: "b".into(),
                    ..Default::default()
                }),
            ),
            next(
                9,
                Payload::LearnerMerged(LearnerMerged {
                    survivor_learner_id: "a".into(),
                    duplicate_learner_id: "b".into(),
                    moved_enrollment_ids: vec!["eb2".into()],
                    folded_enrollment_ids: vec!["ea".into()],
                    folded_into_enrollment_ids: vec!["eb".into()],
                    ..Default::default()
                }),
            ),
            next(10, progress("a", "eb2", "c2", "")),
        ]);
        events.push(registration(sequence + 1, "c", true));
        events
    }

    /// What reports read of a model, independent of its numbering.
    fn figures(model: &crate::engine::Model) -> String {
        use crate::engine::cube::Axis;
        use crate::engine::names::NONE;
        let scope = |s: &crate::engine::scopes::ScopeDays| {
            let active: Vec<_> = s.active.iter().map(|(d, b)| (*d, b.len())).collect();
            format!("{:?} {active:?} {:?}", s.counts, s.completed_by_created)
        };
        let mut out = format!("platform {}\n", scope(&model.scopes.platform));
        let mut programs: Vec<_> = model.scopes.programs.iter().collect();
        programs.sort_by_key(|(p, _)| **p);
        for (p, s) in programs {
            let members: Vec<_> = model.scopes.members_by_day[p]
                .iter()
                .map(|(d, l)| (*d, l.len()))
                .collect();
            out += &format!("program {p} {} members {members:?}\n", scope(s));
        }
        for program in [NONE, 0] {
            for (region, s) in model.cube.values(program, Axis::Region) {
                let name = model.learners.values.name(region);
                out += &format!("{program} region {name} {}\n", scope(s));
            }
            for (course, s) in model.cube.values(program, Axis::Course) {
                out += &format!("{program} course {course} {}\n", scope(s));
            }
        }
        let registered: Vec<_> = model
            .learners
            .by_register
            .iter()
            .map(|(d, l)| (*d, l.len()))
            .collect();
        out + &format!("registered {registered:?}")
    }

    /// A merge re-homes the duplicate's rows in the tables and the model
    /// alike: the model that applied the events and one loaded from the
    /// tables report the same, and count the person once.
    #[tokio::test]
    async fn a_merge_is_followed_by_the_tables_and_the_model_alike() {
        let dir = academy_testkit::TestDb::sqlite();
        let conn = db::connect(&dir.url).await.expect("connect");
        db::migrate::<Migrator>(&conn).await.expect("migrate");
        let events = history_with_a_merge();
        let refs: Vec<&Event> = events.iter().collect();
        let txn = conn.begin().await.expect("begin");
        Projector::default()
            .apply_all(&txn, "learner", &refs)
            .await
            .expect("the merge is understood");
        txn.commit().await.expect("commit");
        assert_eq!(learner_ids(&conn).await, ["a", "c"]);
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT enrollment_id, learner_id FROM r_enrollments ORDER BY enrollment_id",
            ))
            .await
            .expect("query");
        let owners: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "enrollment_id").unwrap(),
                    r.try_get("", "learner_id").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            owners,
            [("eb".into(), "a".into()), ("eb2".into(), "a".into())]
        );

        let mut applied = crate::engine::Model::default();
        applied.apply_all("learner", &events).expect("applied");
        let loaded = crate::engine::load::load(&conn).await.expect("load");
        assert_eq!(figures(&applied), figures(&loaded));

        // Two registered (a on b's earlier day, and c), one person active,
        // the folded enrollment gone, the kept one's milestones counted.
        let all = applied.scopes.platform.sum(0..=crate::engine::NEVER - 1);
        assert_eq!(
            (
                all.new_members,
                all.enrollments,
                all.completions,
                all.certificates
            ),
            (2, 2, 1, 1)
        );
        assert_eq!(all.minutes, 120);
        assert_eq!(
            applied
                .scopes
                .platform
                .active_learners(0..=crate::engine::NEVER - 1),
            1
        );
        let a = applied.learners.find("a").expect("a");
        let b_day = crate::engine::event_day(&events[1]).expect("day");
        assert_eq!(applied.learners.register[a as usize], b_day);
        assert!(
            !applied
                .learners
                .is_registered(applied.learners.find("b").expect("b"))
        );
    }

    /// Provider progress (issue #17): `progress.reported` is a day of
    /// activity like module progress (also in a mixed run), activity after
    /// completion counts, and `completion.redated` moves the completion and
    /// the certificate to its day; the tables and the model agree.
    #[tokio::test]
    async fn provider_progress_and_a_redated_completion_are_followed_alike() {
        use academy_proto::events::{
            CertificateIssued, CompletionRedated, EnrollmentCompleted, ProgressReported,
        };
        let dir = academy_testkit::TestDb::sqlite();
        let conn = db::connect(&dir.url).await.expect("connect");
        db::migrate::<Migrator>(&conn).await.expect("migrate");
        let reported = |minutes| {
            Payload::ProgressReported(ProgressReported {
                enrollment_id: "ea".into(),
                learner_id: "a".into(),
                course_id: "c1".into(),
                program_id: "p".into(),
                minutes_spent: minutes,
                percent_complete: 50,
            })
        };
        let events = vec![
            registration(1, "a", true),
            event(2, 1, enrolled("a", "ea", "c1", "p")),
            event(3, 2, reported(40)),
            event(4, 3, progress("a", "ea", "c1", "p")),
            event(
                5,
                9,
                Payload::EnrollmentCompleted(EnrollmentCompleted {
                    enrollment_id: "ea".into(),
                    learner_id: "a".into(),
                    ..Default::default()
                }),
            ),
            event(
                6,
                9,
                Payload::CertificateIssued(CertificateIssued {
                    enrollment_id: "ea".into(),
                    learner_id: "a".into(),
                    ..Default::default()
                }),
            ),
            event(7, 12, reported(0)),
            event(
                8,
                6,
                Payload::CompletionRedated(CompletionRedated {
                    enrollment_id: "ea".into(),
                    learner_id: "a".into(),
                    course_id: "c1".into(),
                    program_id: "p".into(),
                    previous_complete_time: None,
                }),
            ),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let txn = conn.begin().await.expect("begin");
        Projector::default()
            .apply_all(&txn, "learner", &refs)
            .await
            .expect("provider events are understood");
        txn.commit().await.expect("commit");
        let mut applied = crate::engine::Model::default();
        applied.apply_all("learner", &events).expect("applied");
        let loaded = crate::engine::load::load(&conn).await.expect("load");
        assert_eq!(figures(&applied), figures(&loaded));

        let day = |i: usize| crate::engine::event_day(&events[i]).expect("day");
        let platform = &applied.scopes.platform;
        let all = platform.sum(0..=crate::engine::NEVER - 1);
        assert_eq!((all.completions, all.certificates, all.minutes), (1, 1, 70));
        let redated = platform.sum(day(7)..=day(7));
        assert_eq!((redated.completions, redated.certificates), (1, 1));
        let first = platform.sum(day(4)..=day(5));
        assert_eq!((first.completions, first.certificates), (0, 0));
        // Active on the day after completion, with no minutes.
        assert_eq!(platform.active_learners(day(6)..=day(6)), 1);
        assert_eq!(platform.active_learners(day(2)..=day(2)), 1);
    }
}
