//! Issue #20, items 3 and 9: the restore drill, on the real binaries and a
//! local PostgreSQL. The learner database is dumped (pg_dump), more
//! learners register and reach reporting, then the database is restored to
//! the dump (pg_restore) as after a point-in-time restore: its feed head is
//! now below reporting's cursor, and the next registrations reuse sequence
//! numbers reporting already applied. Reporting must stop that feed loudly
//! (health NOT_SERVING, GetFeedStatus error) instead of skipping them, and
//! RebuildProjections must bring the figures back to exactly what the
//! restored database holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{
    ServiceProcess, Stack, StackEnv, feed_sources, learner, source, summary_of_half, wait_for,
    wait_for_feeds,
};
use academy_proto::learner::RegisterLearnerRequest;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{FeedSource, RebuildProjectionsRequest};
use academy_testkit::TestDb;
use prost_types::Timestamp;
use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;

/// Reporting's health entry for the learner feed.
const LEARNER_FEED_HEALTH: &str = "academy.reporting.v1.feed.learner";

/// 2020-01-10T12:00:00Z, and one learner a day after it.
const FIRST: i64 = 1_578_657_600;

fn registration(i: i64) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        registered_at: Some(Timestamp {
            seconds: FIRST + i * 86_400,
            nanos: 0,
        }),
        ..academy_e2e::registration(learner(
            &format!("drill{i}@example.az"),
            &format!("Drill {i}"),
        ))
    }
}

async fn register(learner: &ServiceProcess, range: std::ops::Range<i64>) {
    let mut client = LearnerServiceClient::new(learner.channel().await);
    for i in range {
        client.register_learner(registration(i)).await.unwrap();
    }
}

async fn learner_feed(reporting: &ServiceProcess) -> Option<FeedSource> {
    let sources = feed_sources(reporting.lazy_channel(Duration::from_secs(5)), None).await?;
    source(&sources, "learner").cloned()
}

/// Waits until the learner feed satisfies `ok`; its last state.
async fn wait_feed(reporting: &ServiceProcess, ok: impl Fn(&FeedSource) -> bool) -> FeedSource {
    let sources = wait_for_feeds(
        reporting.lazy_channel(Duration::from_secs(5)),
        None,
        Duration::from_secs(30),
        "learner feed never got there",
        |sources| source(sources, "learner").is_some_and(&ok),
    )
    .await;
    source(&sources, "learner").cloned().unwrap()
}

async fn registered(reporting: &ServiceProcess) -> i64 {
    ReportingServiceClient::new(reporting.channel().await)
        .get_program_summary(summary_of_half("", "2020-H1"))
        .await
        .unwrap()
        .into_inner()
        .registered_learners
}

fn run(program: &str, args: &[&str]) {
    let status = std::process::Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|err| panic!("{program}: {err}"));
    assert!(status.success(), "{program} {args:?}: {status}");
}

/// Without the runbook's epoch rotation: the head below the cursor gives
/// the restore away.
#[tokio::test]
async fn reporting_stops_on_a_restored_producer_and_rebuild_recovers_exact_figures() {
    drill(false, "FEED_HEAD_REGRESSED").await;
}

/// With the runbook's step 1 (a new epoch for the restored database): the
/// changed epoch stops the feed, whatever the head.
#[tokio::test]
async fn a_rotated_epoch_stops_the_feed_and_rebuild_recovers_exact_figures() {
    drill(true, "FEED_EPOCH_CHANGED").await;
}

async fn drill(rotate_epoch: bool, expected: &str) {
    let (Some(course_db), Some(learner_db), Some(reporting_db)) = (
        TestDb::postgres().await,
        TestDb::postgres().await,
        TestDb::postgres().await,
    ) else {
        return;
    };
    let Stack {
        course: _course,
        mut learner,
        reporting,
    } = Stack::start_with(StackEnv {
        course: &[("ACADEMY_DATABASE_URL", &course_db.url)],
        learner: &[("ACADEMY_DATABASE_URL", &learner_db.url)],
        reporting: &[("ACADEMY_DATABASE_URL", &reporting_db.url)],
        ..Default::default()
    })
    .await;

    // The backup: three learners.
    register(&learner, 0..3).await;
    wait_feed(&reporting, |f| f.applied_sequence == 3).await;
    let dump = tempfile::tempdir().unwrap();
    let dump_file = dump.path().join("learner.dump");
    let dump_path = dump_file.to_str().unwrap();
    run("pg_dump", &["-Fc", "-d", &learner_db.url, "-f", dump_path]);

    // Two more after the backup, applied by reporting.
    register(&learner, 3..5).await;
    wait_feed(&reporting, |f| f.applied_sequence == 5).await;
    assert_eq!(registered(&reporting).await, 5);

    // The learner database is lost and restored from the backup.
    learner.kill().await;
    let (base, name) = learner_db.url.rsplit_once('/').unwrap();
    let admin = format!("{base}/postgres");
    run(
        "psql",
        &["-q", "-d", &admin, "-c", &format!("DROP DATABASE {name}")],
    );
    run(
        "psql",
        &["-q", "-d", &admin, "-c", &format!("CREATE DATABASE {name}")],
    );
    run("pg_restore", &["-d", &learner_db.url, dump_path]);
    if rotate_epoch {
        // deploy/RUNBOOK.md, "Restore drill", step 1.
        run(
            "psql",
            &[
                "-q",
                "-d",
                &learner_db.url,
                "-c",
                "UPDATE feed_epoch SET epoch = 'restored-' || CAST(CURRENT_TIMESTAMP AS TEXT) WHERE id = 1",
            ],
        );
    }
    learner.restart().await;

    // Reporting notices the head went below its cursor and stops the feed,
    // loudly: GetFeedStatus and the feed's health entry say so.
    let stopped = wait_feed(&reporting, |f| !f.healthy && f.last_error.contains("FEED_")).await;
    assert!(stopped.last_error.contains(expected), "{stopped:?}");
    assert_eq!(
        reporting.health_of(LEARNER_FEED_HEALTH).await,
        Some(ServingStatus::NotServing as i32)
    );
    // New registrations on the restored database reuse sequences 4 and 5:
    // nothing of them may be skipped or mixed into the old figures.
    register(&learner, 10..12).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = learner_feed(&reporting).await.unwrap();
    assert!(!still.healthy, "the feed stays stopped: {still:?}");
    assert_eq!(still.applied_sequence, 5);

    // The runbook's recovery: RebuildProjections replays the feed as the
    // restored database now holds it; the feed follows again by itself.
    ReportingServiceClient::new(reporting.channel().await)
        .rebuild_projections(RebuildProjectionsRequest {})
        .await
        .unwrap();
    wait_feed(&reporting, |f| {
        f.healthy && f.applied_sequence == 5 && f.head_sequence == 5
    })
    .await;
    wait_for(Duration::from_secs(10), || async {
        registered(&reporting).await == 5
    })
    .await;
    // Learners 0-2 from the backup and 10-11 after the restore; 3 and 4 are
    // gone with the lost commits.
    assert_eq!(registered(&reporting).await, 5);
    assert_eq!(
        reporting.health_of(LEARNER_FEED_HEALTH).await,
        Some(ServingStatus::Serving as i32)
    );
    // And it keeps following.
    register(&learner, 20..21).await;
    wait_feed(&reporting, |f| f.healthy && f.applied_sequence == 6).await;
    drop(learner);
}
