//! Case 8: several reporting replicas on one PostgreSQL database. Exactly
//! one (the lease holder) writes the projections; SIGKILL it while writers
//! keep the feeds flowing and another replica takes the lease; every
//! replica's figures are exact after. Then reads hammer both replicas while
//! RebuildProjections builds a new generation: no call fails and every
//! answer is the exact figure (no writes run then, so the old generation
//! and the new one must both equal the source).

use crate::retries::Load;
use crate::support::{self, Figures, Sql, Stack, Svc};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    GetFeedStatusRequest, GetFeedStatusResponse, RebuildProjectionsRequest,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const LIVE_WORKERS: usize = 6;

async fn status(reporting: &Svc) -> Option<GetFeedStatusResponse> {
    ReportingServiceClient::new(reporting.lazy_channel(Duration::from_secs(5)))
        .get_feed_status(GetFeedStatusRequest {})
        .await
        .ok()
        .map(tonic::Response::into_inner)
}

async fn is_leader(reporting: &Svc) -> bool {
    status(reporting).await.is_some_and(|s| s.is_leader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_from_a_killed_leader_and_rebuilds_never_show_partial_figures() {
    let _serial = support::serial().await;
    let Some(mut stack) = Stack::start(&[]).await else {
        return;
    };
    let course_url = stack.course.endpoint();
    let learner_url = stack.learner.endpoint();
    let mut second = support::start_service(
        "academy-reporting",
        &[
            ("ACADEMY_DATABASE_URL", &stack.reporting_db.url),
            ("ACADEMY_COURSE_ENDPOINT", &course_url),
            ("ACADEMY_LEARNER_ENDPOINT", &learner_url),
        ],
    )
    .await;
    // One of the two leads, the other follows into memory only.
    support::wait_for(Duration::from_secs(20), || async {
        is_leader(&stack.reporting).await != is_leader(&second).await
    })
    .await
    .expect("exactly one replica leads");
    let first_status = status(&stack.reporting).await.unwrap();
    let second_status = status(&second).await.unwrap();
    assert_eq!(
        first_status.leader, second_status.leader,
        "both name the same leader"
    );
    assert_ne!(first_status.replica, second_status.replica);

    let (course_id, modules) = support::published_course(&stack.course, "REL-REPLICAS", 2).await;
    let load = Load::start("replicas", LIVE_WORKERS, &learner_url, &course_id, &modules);
    load.progress(100, "live load under way").await;

    // SIGKILL the leader; the standby takes the lease.
    let leader_is_first = is_leader(&stack.reporting).await;
    let killed = Instant::now();
    let survivor: &mut Svc = if leader_is_first {
        stack.reporting.kill().await;
        &mut second
    } else {
        second.kill().await;
        &mut stack.reporting
    };
    let took_over = support::wait_for(Duration::from_secs(30), || async {
        is_leader(survivor).await
    })
    .await
    .expect("the standby took the lease");
    eprintln!(
        "[replicas] leader SIGKILLed; the standby leads {:.1?} after the kill",
        killed.elapsed().min(took_over + Duration::from_secs(1))
    );
    load.progress(100, "live load goes on after the take-over")
        .await;
    load.stop().await;

    // The killed replica comes back as a standby; both are exact.
    let (first, second) = if leader_is_first {
        stack.reporting.restart().await;
        (&stack.reporting, &second)
    } else {
        second.restart().await;
        (&stack.reporting, &second)
    };
    let learner_db = Sql::open(&stack.learner_db.url).await;
    let source = Figures::of_source(&learner_db).await;
    for replica in [first, second] {
        support::caught_up_on(&stack, replica, Duration::from_secs(60))
            .await
            .expect("caught up after the take-over");
        let report = Figures::of_report(&support::summary(replica).await);
        assert_eq!(
            report, source,
            "figures exact on every replica after the take-over"
        );
    }
    assert!(
        is_leader(first).await != is_leader(second).await,
        "one leader after the restart"
    );

    // Reads hammer both replicas while a new generation is built.
    let reading = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = [
        first.endpoint(),
        second.endpoint(),
        first.endpoint(),
        second.endpoint(),
    ]
    .into_iter()
    .map(|url| {
        let reading = reading.clone();
        tokio::spawn(async move {
            let channel = support::lazy_channel(&url, Duration::from_secs(10));
            let mut seen = Vec::new();
            let mut failures = Vec::new();
            while reading.load(Ordering::Relaxed) {
                let mut client = ReportingServiceClient::new(channel.clone());
                match client.get_program_summary(support::summary_request()).await {
                    Ok(reply) => seen.push(Figures::of_report(&reply.into_inner())),
                    Err(status) => failures.push(status.to_string()),
                }
            }
            (seen, failures)
        })
    })
    .collect();
    let generation = ReportingServiceClient::new(first.lazy_channel(Duration::from_secs(10)))
        .rebuild_projections(RebuildProjectionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .generation;
    let rebuilt = support::wait_for(Duration::from_secs(120), || async {
        let mut all = true;
        for replica in [first, second] {
            all &= status(replica)
                .await
                .is_some_and(|s| s.generation >= generation && !s.rebuilding);
        }
        all
    })
    .await
    .expect("both replicas serve the new generation");
    reading.store(false, Ordering::Relaxed);
    let mut answers = 0;
    for reader in readers {
        let (seen, failures) = reader.await.unwrap();
        assert!(
            failures.is_empty(),
            "reads failed during the rebuild: {failures:?}"
        );
        for figures in &seen {
            assert_eq!(
                figures, &source,
                "a read during the rebuild saw other figures"
            );
        }
        answers += seen.len();
    }
    eprintln!(
        "[replicas] generation {generation} built and served by both replicas in {rebuilt:.1?}; \
         {answers} summaries read meanwhile, all exact"
    );
    assert!(answers > 0, "reads ran during the rebuild");
    for replica in [first, second] {
        support::caught_up_on(&stack, replica, Duration::from_secs(60))
            .await
            .expect("caught up after the rebuild");
        let report = Figures::of_report(&support::summary(replica).await);
        assert_eq!(report, source, "figures exact after the rebuild");
    }
}
