//! Case 1: clients retry safely. Workers register learners, enroll them and
//! record progress, each call with its own request id; the learner service
//! is SIGKILLed and restarted twice under that load, and every failed call
//! is retried with the same request id. Afterwards each acknowledged write
//! exists exactly once, every row has its feed event (nothing half-made)
//! and the reporting figures equal the source data.

use crate::support::{self, Outcomes, Sql, Stack, at, registration, retry};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{EnrollRequest, RecordProgressRequest};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WORKERS: usize = 12;
const MODULES: usize = 3;
const MINUTES: i32 = 7;
const RETRY_LIMIT: Duration = Duration::from_secs(60);

/// What one worker saw acknowledged.
#[derive(Debug, Default)]
pub(crate) struct Acked {
    learners: Vec<String>,
    enrollments: Vec<String>,
    progress: usize,
    completed: Vec<String>,
    /// Emails of registrations given up after a failure.
    abandoned: Vec<String>,
}

/// [`worker`]s writing through the learner service at `learner_url`
/// until [`Load::stop`]: their calls counted in `outcomes`.
pub(crate) struct Load {
    pub(crate) outcomes: Arc<Outcomes>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Acked>>,
}

impl Load {
    pub(crate) fn start(
        prefix: &'static str,
        workers: usize,
        learner_url: &str,
        course_id: &str,
        modules: &[String],
    ) -> Self {
        let outcomes = Arc::new(Outcomes::default());
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|w| {
                tokio::spawn(worker(
                    prefix,
                    w,
                    learner_url.to_owned(),
                    course_id.to_owned(),
                    modules.to_vec(),
                    outcomes.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        Self {
            outcomes,
            stop,
            workers,
        }
    }

    /// Waits up to 30 s for `calls` more acknowledged calls; panics with
    /// `what` if they do not come.
    pub(crate) async fn progress(&self, calls: u64, what: &str) {
        let before = self.outcomes.oks();
        support::wait_for(Duration::from_secs(30), || async {
            self.outcomes.oks() >= before + calls
        })
        .await
        .expect(what);
    }

    /// Stops the workers; what each had acknowledged.
    pub(crate) async fn stop(self) -> Vec<Acked> {
        self.stop.store(true, Ordering::Relaxed);
        let mut acked = Vec::new();
        for worker in self.workers {
            acked.push(worker.await.unwrap());
        }
        acked
    }
}

/// Registers, enrolls and records progress in a loop until `stop`,
/// retrying every failed call with the same request id.
pub(crate) async fn worker(
    prefix: &'static str,
    w: usize,
    learner_url: String,
    course_id: String,
    modules: Vec<String>,
    outcomes: Arc<Outcomes>,
    stop: Arc<AtomicBool>,
) -> Acked {
    let channel = support::lazy_channel(&learner_url, Duration::from_secs(10));
    let learners = LearnerServiceClient::new(channel.clone());
    let enrollments = EnrollmentServiceClient::new(channel);
    let mut acked = Acked::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("{prefix}-w{w}-{i}");
        let offset = (w * 10_000 + i) as i64;
        let request = registration(&key, offset);
        let registered = if w % 4 == 3 {
            // This client gives up on a failed registration instead of
            // retrying: what it sent may exist (whole) or not at all.
            match learners.clone().register_learner(request.clone()).await {
                Ok(reply) => {
                    outcomes.ok();
                    reply.into_inner()
                }
                Err(status) if support::RETRYABLE.contains(&status.code()) => {
                    outcomes.failed("RegisterLearner (abandoned)", &status);
                    acked.abandoned.push(format!("{key}@example.az"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    i += 1;
                    continue;
                }
                Err(status) => panic!("register {key}: {status:?}"),
            }
        } else {
            retry("RegisterLearner", &outcomes, RETRY_LIMIT, || {
                let (mut client, request) = (learners.clone(), request.clone());
                async move { client.register_learner(request).await }
            })
            .await
            .unwrap_or_else(|status| panic!("register {key}: {status:?}"))
        };
        acked.learners.push(registered.id.clone());

        let request = EnrollRequest {
            learner_id: registered.id.clone(),
            course_id: course_id.clone(),
            request_id: format!("enr-{key}"),
            enrolled_at: at(100_000 + offset),
            ..Default::default()
        };
        let enrollment = retry("Enroll", &outcomes, RETRY_LIMIT, || {
            let (mut client, request) = (enrollments.clone(), request.clone());
            async move { client.enroll(request).await }
        })
        .await
        .unwrap_or_else(|status| panic!("enroll {key}: {status:?}"));
        acked.enrollments.push(enrollment.id.clone());

        // Every other learner finishes the course; the rest do one module.
        let done = if i % 2 == 0 { MODULES } else { 1 };
        let mut last = enrollment;
        for (m, module_id) in modules.iter().take(done).enumerate() {
            let request = RecordProgressRequest {
                enrollment_id: last.id.clone(),
                module_id: module_id.clone(),
                minutes_spent: MINUTES,
                occurred_at: at(200_000 + offset + m as i64),
                request_id: format!("prog-{key}-{m}"),
                ..Default::default()
            };
            last = retry("RecordProgress", &outcomes, RETRY_LIMIT, || {
                let (mut client, request) = (enrollments.clone(), request.clone());
                async move { client.record_progress(request).await }
            })
            .await
            .unwrap_or_else(|status| panic!("progress {key}/{m}: {status:?}"));
            acked.progress += 1;
        }
        if done == MODULES {
            assert_eq!(last.progress_percent, 100, "{key} complete");
            acked.completed.push(last.id.clone());
        }
        i += 1;
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_exists_once_after_two_sigkills() {
    let _serial = support::serial().await;
    let Some(stack) = Stack::start(&[]).await else {
        return;
    };
    retries_across_kills("postgres", stack).await;
}

/// The same on the embedded SQLite default: a killed process leaves its
/// committed transactions in the WAL, and the restarted one finds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_exists_once_after_two_sigkills_on_sqlite() {
    let _serial = support::serial().await;
    retries_across_kills("sqlite", Stack::sqlite().await).await;
}

async fn retries_across_kills(backend: &str, mut stack: Stack) {
    let (course_id, modules) = support::published_course(&stack.course, "REL-RETRY", MODULES).await;
    let started = Instant::now();

    // Clients know only the address; the service behind it comes and goes.
    let learner_url = stack.learner.endpoint();
    let load = Load::start("retry", WORKERS, &learner_url, &course_id, &modules);
    let outcomes = &load.outcomes;

    let mut kills = Vec::new();
    for round in 0..2 {
        load.progress(150, "the load makes progress").await;
        stack.learner.kill().await;
        let acked_at_kill = outcomes.oks();
        tokio::time::sleep(Duration::from_millis(700)).await;
        stack.learner.restart().await;
        eprintln!(
            "[retries/{backend}] round {round}: SIGKILL after {acked_at_kill} acknowledged calls, restarted at {:.1?}",
            started.elapsed()
        );
        kills.push(acked_at_kill);
    }
    load.progress(150, "the load goes on after the second restart")
        .await;
    let outcomes = load.outcomes.clone();
    let mut acked = Acked::default();
    for done in load.stop().await {
        acked.learners.extend(done.learners);
        acked.enrollments.extend(done.enrollments);
        acked.progress += done.progress;
        acked.completed.extend(done.completed);
        acked.abandoned.extend(done.abandoned);
    }
    let failures = outcomes.failures();
    eprintln!(
        "[retries/{backend}] {} calls acknowledged in {:.1?}; failed attempts (retried): {failures:?}; messages: {:?}",
        outcomes.oks(),
        started.elapsed(),
        outcomes.examples(),
    );
    assert!(
        !failures.is_empty(),
        "the kills interrupted some calls (else this case tested nothing)"
    );
    assert!(
        outcomes.unexpected(support::RETRYABLE).is_empty(),
        "only retryable failures: {failures:?}"
    );

    let db = Sql::open(&stack.learner_db.url).await;
    let learner_ids: BTreeSet<String> = acked.learners.iter().cloned().collect();
    let enrollment_ids: BTreeSet<String> = acked.enrollments.iter().cloned().collect();
    assert_eq!(
        learner_ids.len(),
        acked.learners.len(),
        "one learner per request id"
    );
    assert_eq!(
        enrollment_ids.len(),
        acked.enrollments.len(),
        "one enrollment per request id"
    );
    let stored: Vec<(String, String)> = db
        .strings("SELECT id || ' ' || email AS s FROM learners")
        .await
        .into_iter()
        .map(|row| {
            let (id, email) = row.split_once(' ').unwrap();
            (id.to_owned(), email.to_owned())
        })
        .collect();
    let stored_learners: BTreeSet<String> = stored.iter().map(|(id, _)| id.clone()).collect();
    // Registrations given up after a failure may have been applied before
    // the failure; those are whole learners (counted below with their
    // events), and the only ones besides the acknowledged.
    let abandoned: BTreeSet<&String> = acked.abandoned.iter().collect();
    let applied_abandoned: Vec<&String> = stored
        .iter()
        .filter(|(id, _)| !learner_ids.contains(id))
        .map(|(_, email)| email)
        .collect();
    let strays: Vec<&&String> = applied_abandoned
        .iter()
        .filter(|email| !abandoned.contains(**email))
        .collect();
    assert!(
        strays.is_empty(),
        "learners neither acknowledged nor abandoned: {strays:?}"
    );
    let stored_learners: BTreeSet<String> = stored_learners
        .into_iter()
        .filter(|id| learner_ids.contains(id))
        .collect();
    let stored_enrollments: BTreeSet<String> = db
        .strings("SELECT id AS s FROM enrollments")
        .await
        .into_iter()
        .collect();
    assert_eq!(
        stored_learners, learner_ids,
        "every acknowledged learner is stored"
    );
    assert_eq!(
        stored_enrollments, enrollment_ids,
        "the enrollments are exactly the acknowledged ones"
    );
    let progress_rows = db.count("progress_records").await;
    assert_eq!(
        progress_rows, acked.progress as i64,
        "one progress row per acknowledged call"
    );
    let completed = db
        .int("SELECT COUNT(*) AS n FROM enrollments WHERE state = 'COMPLETED'")
        .await;
    assert_eq!(completed, acked.completed.len() as i64, "completions");
    assert_eq!(
        db.count("certificates").await,
        completed,
        "a certificate per completion"
    );
    let minutes = db
        .int("SELECT COALESCE(SUM(minutes_spent), 0) AS n FROM progress_records")
        .await;
    assert_eq!(
        minutes,
        acked.progress as i64 * i64::from(MINUTES),
        "minutes"
    );

    // Nothing half-made: each row has exactly its events, no more.
    let events = db.events().await;
    let expected = [
        ("learner.registered", stored.len() as i64),
        ("enrollment.created", acked.enrollments.len() as i64),
        ("progress.recorded", acked.progress as i64),
        ("enrollment.completed", completed),
        ("certificate.issued", completed),
    ];
    for (kind, count) in expected {
        assert_eq!(
            events.get(kind).copied().unwrap_or(0),
            count,
            "{kind} events: {events:?}"
        );
    }
    assert_eq!(events.len(), expected.len(), "no other events: {events:?}");

    let lag = support::caught_up(&stack, Duration::from_secs(60))
        .await
        .expect("reporting caught up");
    let source = support::Figures::of_source(&db).await;
    let report = support::Figures::of_report(&support::summary(&stack.reporting).await);
    eprintln!(
        "[retries/{backend}] acknowledged: {} learners, {} enrollments, {} progress, {} completions; \
         {} registrations abandoned after a failure, {} of them applied whole; \
         reporting caught up in {lag:.1?}: {report:?}",
        acked.learners.len(),
        acked.enrollments.len(),
        acked.progress,
        completed,
        acked.abandoned.len(),
        applied_abandoned.len(),
    );
    assert_eq!(report, source, "reporting equals the source data");
    assert_eq!(source.learners, stored.len() as i64);
}

/// Hedged retries: a client that gave up waiting sends the same request
/// again while the first is still running. Eight copies of each create at
/// once give one result, the same one to all eight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_of_one_request_take_effect_once() {
    let _serial = support::serial().await;
    let Some(stack) = Stack::start(&[]).await else {
        return;
    };
    hedged("postgres", stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_of_one_request_take_effect_once_on_sqlite() {
    let _serial = support::serial().await;
    hedged("sqlite", Stack::sqlite().await).await;
}

async fn hedged(backend: &str, stack: Stack) {
    const COPIES: usize = 8;
    let (course_id, modules) = support::published_course(&stack.course, "REL-HEDGE", 2).await;
    let channel = stack.learner.lazy_channel(Duration::from_secs(10));
    let learners = LearnerServiceClient::new(channel.clone());
    let enrollments = EnrollmentServiceClient::new(channel);

    async fn all<T: Send + 'static>(
        calls: Vec<tokio::task::JoinHandle<Result<tonic::Response<T>, tonic::Status>>>,
    ) -> Vec<T> {
        let mut replies = Vec::new();
        for call in calls {
            replies.push(
                call.await
                    .unwrap()
                    .expect("every copy succeeds")
                    .into_inner(),
            );
        }
        replies
    }

    let request = registration("hedge", 1);
    let registered = all((0..COPIES)
        .map(|_| {
            let (mut client, request) = (learners.clone(), request.clone());
            tokio::spawn(async move { client.register_learner(request).await })
        })
        .collect())
    .await;
    let learner_id = registered[0].id.clone();
    assert!(registered.iter().all(|l| l.id == learner_id), "one learner");

    let request = EnrollRequest {
        learner_id: learner_id.clone(),
        course_id,
        request_id: "enr-hedge".into(),
        enrolled_at: at(100_000),
        ..Default::default()
    };
    let enrolled = all((0..COPIES)
        .map(|_| {
            let (mut client, request) = (enrollments.clone(), request.clone());
            tokio::spawn(async move { client.enroll(request).await })
        })
        .collect())
    .await;
    let enrollment_id = enrolled[0].id.clone();
    assert!(
        enrolled.iter().all(|e| e.id == enrollment_id),
        "one enrollment"
    );

    let request = RecordProgressRequest {
        enrollment_id: enrollment_id.clone(),
        module_id: modules[0].clone(),
        minutes_spent: MINUTES,
        occurred_at: at(200_000),
        request_id: "prog-hedge".into(),
        ..Default::default()
    };
    let progressed = all((0..COPIES)
        .map(|_| {
            let (mut client, request) = (enrollments.clone(), request.clone());
            tokio::spawn(async move { client.record_progress(request).await })
        })
        .collect())
    .await;
    assert!(progressed.iter().all(|e| e.id == enrollment_id));

    let db = Sql::open(&stack.learner_db.url).await;
    let counts = (
        db.count("learners").await,
        db.count("enrollments").await,
        db.count("progress_records").await,
        db.int("SELECT COALESCE(SUM(minutes_spent), 0) AS n FROM progress_records")
            .await,
    );
    let events = db.events().await;
    eprintln!(
        "[retries/hedged/{backend}] {COPIES} concurrent copies each of RegisterLearner, Enroll and \
         RecordProgress: (learners, enrollments, progress rows, minutes) = {counts:?}; \
         events {events:?}"
    );
    assert_eq!(
        counts,
        (1, 1, 1, i64::from(MINUTES)),
        "each took effect once"
    );
    assert_eq!(events.values().sum::<i64>(), 3, "three events: {events:?}");
}
