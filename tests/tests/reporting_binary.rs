//! The real binaries: the reporting service is SIGKILLed while it applies a
//! backlog, restarted on the same data, and its figures are exact after:
//! nothing lost, nothing counted twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{
    ServiceProcess, StackEnv, feed_sources, import_learners, learner, source, summary_of_half,
    wait_for,
};
use academy_proto::learner::{EmploymentStatus, Gender, Learner, RegisterLearnerRequest};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use prost_types::Timestamp;
use std::time::Duration;

const LEARNERS: i64 = 20_000;
/// 2020-01-01T12:00:00Z, and one learner every two hours after it.
const FIRST: i64 = 1_577_880_000;
const STEP: i64 = 2 * 3600;

fn registration(i: i64) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        registered_at: Some(Timestamp {
            seconds: FIRST + i * STEP,
            nanos: 0,
        }),
        ..academy_e2e::registration(Learner {
            region: "Mil-Mugan".into(),
            gender: Gender::Undisclosed as i32,
            employment_status: EmploymentStatus::Student as i32,
            ..learner(&format!("bulk{i}@example.az"), &format!("Bulk {i}"))
        })
    }
}

/// (applied, head) of the learner feed.
async fn learner_feed(reporting: &ServiceProcess) -> Option<(i64, i64)> {
    let sources = feed_sources(reporting.lazy_channel(Duration::from_secs(5)), None).await?;
    source(&sources, "learner").map(|s| (s.applied_sequence, s.head_sequence))
}

#[tokio::test]
async fn figures_are_exact_after_a_sigkill_mid_backlog() {
    let stack = StackEnv::default();
    let (course, learner) = stack.start_course_and_learner().await;
    let reply = import_learners(learner.channel().await, (0..LEARNERS).map(registration)).await;
    assert_eq!(reply.created, LEARNERS);

    let mut reporting = stack.start_reporting(&course, &learner).await;
    // Kill it while the backlog is being applied.
    let mut killed_at = None;
    for _ in 0..2000 {
        if let Some((applied, head)) = learner_feed(&reporting).await
            && applied > 0
            && applied < head
        {
            killed_at = Some(applied);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    reporting.kill().await;
    let killed_at = killed_at.expect("saw the backlog half applied");
    assert!(killed_at < LEARNERS);

    reporting.restart().await;
    let caught_up = wait_for(Duration::from_secs(60), || async {
        learner_feed(&reporting).await == Some((LEARNERS, LEARNERS))
    })
    .await;
    assert!(caught_up.is_some(), "caught up after the restart");

    let mut reports = ReportingServiceClient::new(reporting.channel().await);
    for (half, start, end) in [
        ("2020-H1", "2020-01-01", "2020-06-30"),
        ("2022-H2", "2022-07-01", "2022-12-31"),
    ] {
        let summary = reports
            .get_program_summary(summary_of_half("", half))
            .await
            .unwrap()
            .into_inner();
        let day = |s: &str| chrono_days(s);
        let (first, last) = (day(start), day(end));
        let expected_new = (0..LEARNERS)
            .filter(|i| (first..=last).contains(&((FIRST + i * STEP) / 86_400)))
            .count() as i64;
        let expected_registered = (0..LEARNERS)
            .filter(|i| (FIRST + i * STEP) / 86_400 <= last)
            .count() as i64;
        assert_eq!(summary.new_learners, expected_new, "{half} new");
        assert_eq!(
            summary.registered_learners, expected_registered,
            "{half} registered"
        );
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn chrono_days(date: &str) -> i64 {
    let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (y, m, d) = (parts[0], parts[1], parts[2]);
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
