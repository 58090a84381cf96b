//! Case 4: a producer goes down. The course service is killed while
//! learners enroll (each Enroll is UNAVAILABLE, fast, and writes nothing)
//! and while reporting follows its feed (reporting keeps applying the
//! learner feed and answering reports, retries the course feed with
//! backoff, and catches up once the course service is back).

use crate::support::{self, Figures, Outcomes, Sql, Stack, registration};
use academy_proto::learner::EnrollRequest;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use std::time::{Duration, Instant};

const FIRST_LEARNERS: usize = 40;
const MORE_LEARNERS: usize = 30;
const DOWN_FOR: Duration = Duration::from_secs(6);

async fn register(url: &str, from: usize, count: usize) -> Vec<String> {
    let mut client = LearnerServiceClient::new(support::lazy_channel(url, Duration::from_secs(10)));
    let mut ids = Vec::new();
    for i in from..from + count {
        let reply = client
            .register_learner(registration(&format!("producer-{i}"), i as i64))
            .await
            .unwrap();
        ids.push(reply.into_inner().id);
    }
    ids
}

fn enrollment(learner_id: &str, course_id: &str, i: usize) -> EnrollRequest {
    EnrollRequest {
        learner_id: learner_id.to_owned(),
        course_id: course_id.to_owned(),
        request_id: format!("producer-enroll-{i}"),
        enrolled_at: support::at(100_000 + i as i64),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_course_service_costs_nothing_and_is_caught_up_after() {
    let _serial = support::serial().await;
    let Some(mut stack) = Stack::start_with(None, &[], true).await else {
        return;
    };
    let (course_id, _) = support::published_course(&stack.course, "REL-PROD", 2).await;
    let learner_url = stack.learner.endpoint();
    let learners = register(&learner_url, 0, FIRST_LEARNERS).await;
    support::caught_up(&stack, Duration::from_secs(30))
        .await
        .expect("reporting caught up before the course service stops");

    stack.course.kill().await;
    let down_at = Instant::now();
    let proxy = stack.course_proxy.as_ref().unwrap();
    let attempts_before = proxy.connections();

    // Enroll while the course service is gone: every call fails fast.
    let outcomes = Outcomes::default();
    let client =
        EnrollmentServiceClient::new(support::lazy_channel(&learner_url, Duration::from_secs(10)));
    let calls: Vec<_> = learners
        .iter()
        .enumerate()
        .map(|(i, learner_id)| {
            let mut client = client.clone();
            let request = enrollment(learner_id, &course_id, i);
            tokio::spawn(async move {
                let started = Instant::now();
                (client.enroll(request).await, started.elapsed())
            })
        })
        .collect();
    for call in calls {
        let (result, took) = call.await.unwrap();
        match result {
            Ok(_) => outcomes.ok(),
            Err(status) => outcomes.failed_after("Enroll", &status, took),
        }
    }
    let learner_db = Sql::open(&stack.learner_db.url).await;
    let written = learner_db.count("enrollments").await;
    let events = learner_db.events().await;
    eprintln!(
        "[producer] course service killed; {FIRST_LEARNERS} Enroll calls: {} acknowledged, \
         failures {:?}, slowest {:.2?}; enrollments written: {written}",
        outcomes.oks(),
        outcomes.failures(),
        outcomes.slowest_failure(),
    );
    assert_eq!(
        outcomes.oks(),
        0,
        "no enrollment without the course service"
    );
    assert_eq!(
        outcomes.failures().get("Enroll:Unavailable"),
        Some(&(FIRST_LEARNERS as u64)),
        "every Enroll is UNAVAILABLE: {:?}",
        outcomes.examples()
    );
    assert!(
        outcomes.slowest_failure() < Duration::from_secs(5),
        "Enroll fails fast: {:?}",
        outcomes.slowest_failure()
    );
    assert_eq!(written, 0, "nothing written");
    assert_eq!(
        events.get("enrollment.created"),
        None,
        "no enrollment event"
    );

    // The learner feed goes on while the course feed is down.
    let more = register(&learner_url, FIRST_LEARNERS, MORE_LEARNERS).await;
    let learner_head = support::head(&stack.learner).await.unwrap();
    let learner_applied = support::wait_for(Duration::from_secs(15), || async {
        support::applied(&stack.reporting)
            .await
            .is_some_and(|a| a.get("learner") == Some(&learner_head))
    })
    .await;
    let served = support::summary(&stack.reporting).await;
    assert!(
        learner_applied.is_some(),
        "reporting applied the learner feed while the course service was down"
    );
    assert_eq!(
        served.new_learners,
        (FIRST_LEARNERS + MORE_LEARNERS) as i64,
        "reports answered from the learner feed"
    );

    tokio::time::sleep(DOWN_FOR.saturating_sub(down_at.elapsed())).await;
    let attempts = proxy.connections() - attempts_before;
    let down_for = down_at.elapsed();
    stack.course.restart().await;
    let up_at = Instant::now();

    // The same request ids now enroll, once each.
    let mut client = client.clone();
    for (i, learner_id) in learners.iter().chain(&more).enumerate() {
        client
            .enroll(enrollment(learner_id, &course_id, i))
            .await
            .unwrap();
    }
    // New course events for the course feed to catch up on.
    support::published_course(&stack.course, "REL-PROD-2", 1).await;
    let caught_up = support::caught_up(&stack, Duration::from_secs(30)).await;
    let source = Figures::of_source(&learner_db).await;
    let report = Figures::of_report(&support::summary(&stack.reporting).await);
    eprintln!(
        "[producer] course service down {down_for:.1?}: reporting made {attempts} connection \
         attempts to its feed meanwhile (backoff), applied the learner feed (head {learner_head}) \
         in {learner_applied:.1?}; after the restart, caught up on both feeds {caught_up:.1?} \
         later ({:.1?} after the course service was back); figures {report:?}",
        up_at.elapsed(),
    );
    assert!(
        attempts >= 2,
        "reporting kept trying to reconnect: {attempts}"
    );
    assert!(
        attempts <= 12,
        "reporting backed off instead of hammering the producer: {attempts} attempts in {down_for:?}"
    );
    assert!(
        caught_up.is_some_and(|t| t < Duration::from_secs(20)),
        "caught up after the course service's return: {caught_up:?}"
    );
    assert_eq!(report, source, "figures exact");
    assert_eq!(source.enrollments, (FIRST_LEARNERS + MORE_LEARNERS) as i64);
}
