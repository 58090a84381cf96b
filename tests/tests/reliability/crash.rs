//! Case 5: reporting crashes. SIGKILL while it applies a backlog (learners,
//! enrollments, progress, completions and merges of duplicate learners
//! written before it started) and again
//! while it follows a live feed under write load; after each restart the
//! figures equal the source data exactly: nothing lost, nothing twice.

use crate::retries::Load;
use crate::support::{self, Figures, Sql, Stack, at, registration};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EnrollRequest, ListEnrollmentsRequest, ListLearnersRequest, MergeLearnersRequest,
    RecordProgressRequest,
};
use std::time::{Duration, Instant};

const BACKLOG_LEARNERS: usize = 4000;
const LIVE_WORKERS: usize = 8;
/// Pairs of backlog learners merged, after their enrollments and progress.
const MERGES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporting_figures_are_exact_after_sigkills_mid_backlog_and_mid_live_feed() {
    let _serial = support::serial().await;
    let Some(mut stack) = Stack::start(&[]).await else {
        return;
    };
    // The backlog is written while reporting is down.
    stack.reporting.kill().await;
    let (course_id, modules) = support::published_course(&stack.course, "REL-CRASH", 1).await;
    let channel = stack.learner.lazy_channel(Duration::from_secs(60));
    let mut learners = LearnerServiceClient::new(channel.clone());
    let mut enrollments = EnrollmentServiceClient::new(channel);
    let imported = learners
        .import_learners(tokio_stream::iter(
            (0..BACKLOG_LEARNERS).map(|i| registration(&format!("crash-{i}"), i as i64)),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.created, BACKLOG_LEARNERS as i64);
    let mut learner_ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = learners
            .list_learners(ListLearnersRequest {
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        learner_ids.extend(page.learners.into_iter().map(|l| l.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let enrolled = enrollments
        .bulk_enroll(tokio_stream::iter(
            learner_ids
                .clone()
                .into_iter()
                .enumerate()
                .map(move |(i, learner_id)| EnrollRequest {
                    learner_id,
                    course_id: course_id.clone(),
                    request_id: format!("crash-enroll-{i}"),
                    enrolled_at: at(100_000 + i as i64),
                    ..Default::default()
                }),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(enrolled.created, BACKLOG_LEARNERS as i64);
    let mut enrollment_ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = enrollments
            .list_enrollments(ListEnrollmentsRequest {
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        enrollment_ids.extend(page.enrollments.into_iter().map(|e| e.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    // Every other enrollment completes its one module.
    let module_id = modules[0].clone();
    let progressed = enrollments
        .bulk_record_progress(tokio_stream::iter(
            enrollment_ids
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(move |(i, enrollment_id)| RecordProgressRequest {
                    enrollment_id,
                    module_id: module_id.clone(),
                    minutes_spent: 25,
                    occurred_at: at(200_000 + i as i64),
                    request_id: format!("crash-progress-{i}"),
                    ..Default::default()
                }),
        ))
        .await
        .unwrap()
        .into_inner();
    // Duplicates merged in the backlog: both of a pair are enrolled in the
    // same course, so each merge folds one enrollment into the other.
    for pair in learner_ids.chunks(2).take(MERGES) {
        learners
            .merge_learners(MergeLearnersRequest {
                survivor_id: pair[0].clone(),
                duplicate_id: pair[1].clone(),
                request_id: String::new(),
                dry_run: false,
            })
            .await
            .unwrap();
    }
    let backlog = support::head(&stack.learner).await.unwrap();
    eprintln!(
        "[crash] backlog written with reporting down: {BACKLOG_LEARNERS} learners, {} \
         enrollments, {} progress rows: {backlog} learner events",
        enrolled.created, progressed.recorded
    );

    stack.reporting.restart().await;
    let mut killed_at = None;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(applied) = support::applied(&stack.reporting).await
            && let Some(&learner) = applied.get("learner")
            && learner > 0
        {
            assert!(
                learner < backlog,
                "the backlog was applied before the kill: {learner}"
            );
            killed_at = Some(learner);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stack.reporting.kill().await;
    let killed_at = killed_at.expect("saw the backlog half applied");
    stack.reporting.restart().await;
    let took = support::caught_up(&stack, Duration::from_secs(120))
        .await
        .expect("caught up on the backlog after the restart");
    let learner_db = Sql::open(&stack.learner_db.url).await;
    let source = Figures::of_source(&learner_db).await;
    let report = Figures::of_report(&support::summary(&stack.reporting).await);
    eprintln!(
        "[crash] SIGKILL mid-backlog at learner event {killed_at} of {backlog}; caught up \
         {took:.1?} after the restart: {report:?}"
    );
    assert_eq!(report, source, "figures exact after a kill mid-backlog");
    assert_eq!(source.learners, (BACKLOG_LEARNERS - MERGES) as i64);

    // Mid-live: writers keep going while reporting is killed and restarted.
    let (live_course, live_modules) =
        support::published_course(&stack.course, "REL-CRASH-LIVE", 3).await;
    let learner_url = stack.learner.endpoint();
    let load = Load::start(
        "crash-live",
        LIVE_WORKERS,
        &learner_url,
        &live_course,
        &live_modules,
    );
    load.progress(100, "live load under way").await;
    let live_killed_at = support::applied(&stack.reporting)
        .await
        .and_then(|a| a.get("learner").copied())
        .unwrap();
    stack.reporting.kill().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.reporting.restart().await;
    load.progress(100, "live load goes on after the restart")
        .await;
    let outcomes = load.outcomes.clone();
    load.stop().await;
    let took = support::caught_up(&stack, Duration::from_secs(60))
        .await
        .expect("caught up after the live load");
    let source = Figures::of_source(&learner_db).await;
    let report = Figures::of_report(&support::summary(&stack.reporting).await);
    eprintln!(
        "[crash] SIGKILL mid-live-feed at learner event {live_killed_at} (backlog was \
         {backlog}); {} live calls acknowledged, failures {:?}; caught up {took:.1?} after the \
         load stopped: {report:?}; messages {:?}",
        outcomes.oks(),
        outcomes.failures(),
        outcomes.examples(),
    );
    assert!(
        live_killed_at > backlog,
        "killed while following live events: {live_killed_at}"
    );
    // The writers talk to the learner service, not to reporting: its crash
    // costs them nothing (a loaded machine may still make a call retry).
    assert!(
        outcomes.unexpected(&[tonic::Code::Unavailable]).is_empty(),
        "the writers did not notice reporting's crash: {:?} {:?}",
        outcomes.failures(),
        outcomes.examples()
    );
    assert_eq!(report, source, "figures exact after a kill mid-live-feed");
}
