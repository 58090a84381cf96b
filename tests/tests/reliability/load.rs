//! Case 6: sustained load. 64 clients, each on its own connections, mix
//! writes (register, enroll, progress) and reads (learner, enrollments,
//! course, reports, feed status) for `ACADEMY_SOAK_SECS` seconds (20 by
//! default; set it to 60 or more for a soak). The learner service sheds
//! above 32 calls in flight (twice its 16 PostgreSQL connections, so no
//! call waits long for one), so RESOURCE_EXHAUSTED is deliberate and
//! retried; every other error fails the case, and the learner's health may
//! say NOT_SERVING only while it is saturated. Resident memory of each
//! service is sampled every second and must stay within a stated bound,
//! and reporting's lag is back to zero within seconds of the load stopping.

use crate::support::{self, Figures, Outcomes, Sql, Stack, Svc, at, registration};
use academy_proto::course::GetCourseRequest;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EnrollRequest, GetLearnerRequest, ListEnrollmentsRequest, RecordProgressRequest,
};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{GetFeedStatusRequest, GetProgramSummaryRequest, Period};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;

const CLIENTS: usize = 64;
/// Calls in flight the learner service takes before shedding.
const LEARNER_MAX_CALLS: &str = "32";
/// Resident memory no service may exceed at any sample, in MiB.
const RSS_CEILING_MIB: u64 = 128;
/// Growth allowed from the first sample after warm-up to the last, in MiB:
/// caches and pools fill early; anything that grows with the number of
/// calls served would pass this in a soak.
const RSS_GROWTH_MIB: u64 = 32;
const WARM_UP: Duration = Duration::from_secs(5);

fn soak() -> Duration {
    let secs = std::env::var("ACADEMY_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(secs)
}

/// Calls `call` until it is not shed; counts every outcome under `name`.
async fn call<T, F, Fut>(outcomes: &Outcomes, name: &str, mut call: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    loop {
        match call().await {
            Ok(reply) => {
                outcomes.ok();
                return Some(reply.into_inner());
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                outcomes.failed(name, &status);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => {
                outcomes.failed(name, &status);
                return None;
            }
        }
    }
}

struct Targets {
    learner: String,
    course: String,
    reporting: String,
    course_id: String,
    modules: Vec<String>,
}

async fn client(c: usize, targets: Arc<Targets>, outcomes: Arc<Outcomes>, until: Instant) -> usize {
    // The server's own request timeout (30 s): a slow call is the server's
    // to end, and would show as DEADLINE_EXCEEDED from it.
    let timeout = Duration::from_secs(30);
    let learner_channel = support::lazy_channel(&targets.learner, timeout);
    let learners = LearnerServiceClient::new(learner_channel.clone());
    let enrollments = EnrollmentServiceClient::new(learner_channel);
    let courses = CourseServiceClient::new(support::lazy_channel(&targets.course, timeout));
    let reports = ReportingServiceClient::new(support::lazy_channel(&targets.reporting, timeout));
    let mut registered = 0;
    let mut i = 0usize;
    while Instant::now() < until {
        let key = format!("load-c{c}-{i}");
        let offset = (c * 100_000 + i) as i64;
        let request = registration(&key, offset);
        let Some(learner) = call(&outcomes, "RegisterLearner", || {
            let (mut client, request) = (learners.clone(), request.clone());
            async move { client.register_learner(request).await }
        })
        .await
        else {
            i += 1;
            continue;
        };
        registered += 1;
        let request = EnrollRequest {
            learner_id: learner.id.clone(),
            course_id: targets.course_id.clone(),
            request_id: format!("enr-{key}"),
            enrolled_at: at(100_000 + offset),
            ..Default::default()
        };
        let enrollment = call(&outcomes, "Enroll", || {
            let (mut client, request) = (enrollments.clone(), request.clone());
            async move { client.enroll(request).await }
        })
        .await;
        if let Some(enrollment) = enrollment {
            let request = RecordProgressRequest {
                enrollment_id: enrollment.id.clone(),
                module_id: targets.modules[i % targets.modules.len()].clone(),
                minutes_spent: 12,
                occurred_at: at(200_000 + offset),
                request_id: format!("prog-{key}"),
                ..Default::default()
            };
            call(&outcomes, "RecordProgress", || {
                let (mut client, request) = (enrollments.clone(), request.clone());
                async move { client.record_progress(request).await }
            })
            .await;
        }
        let id = learner.id.clone();
        call(&outcomes, "GetLearner", || {
            let (mut client, id) = (learners.clone(), id.clone());
            async move { client.get_learner(GetLearnerRequest { id }).await }
        })
        .await;
        call(&outcomes, "ListEnrollments", || {
            let (mut client, learner_id) = (enrollments.clone(), id.clone());
            async move {
                client
                    .list_enrollments(ListEnrollmentsRequest {
                        learner_id,
                        ..Default::default()
                    })
                    .await
            }
        })
        .await;
        if i % 4 == c % 4 {
            call(&outcomes, "GetCourse", || {
                let (mut client, id) = (courses.clone(), targets.course_id.clone());
                async move { client.get_course(GetCourseRequest { id }).await }
            })
            .await;
            call(&outcomes, "GetProgramSummary", || {
                let mut client = reports.clone();
                async move {
                    client
                        .get_program_summary(GetProgramSummaryRequest {
                            program_id: String::new(),
                            period: Some(Period {
                                half: support::PERIOD.into(),
                                ..Default::default()
                            }),
                        })
                        .await
                }
            })
            .await;
            call(&outcomes, "GetFeedStatus", || {
                let mut client = reports.clone();
                async move { client.get_feed_status(GetFeedStatusRequest {}).await }
            })
            .await;
        }
        i += 1;
    }
    registered
}

/// RSS of each service, in MiB.
fn rss(services: &[&Svc]) -> Vec<u64> {
    services
        .iter()
        .map(|s| support::rss_kib(s) / 1024)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_of_mixed_traffic_within_bounds() {
    let _serial = support::serial().await;
    let Some(stack) = Stack::start(&[("ACADEMY_MAX_CONCURRENT_CALLS", LEARNER_MAX_CALLS)]).await
    else {
        return;
    };
    let (course_id, modules) = support::published_course(&stack.course, "REL-LOAD", 4).await;
    let targets = Arc::new(Targets {
        learner: stack.learner.endpoint(),
        course: stack.course.endpoint(),
        reporting: stack.reporting.endpoint(),
        course_id,
        modules,
    });
    let duration = soak();
    let services = [&stack.course, &stack.learner, &stack.reporting];
    let at_start = rss(&services);
    let outcomes = Arc::new(Outcomes::default());
    let started = Instant::now();
    let until = started + duration;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(client(c, targets.clone(), outcomes.clone(), until)))
        .collect();

    let mut samples: Vec<(Duration, Vec<u64>)> = Vec::new();
    // Health under load: the learner service, saturated on purpose, may say
    // NOT_SERVING while every slot is taken (issue #15: health reflects
    // saturation, so a readiness probe sends new work elsewhere); the
    // others stay SERVING, and the learner is SERVING again once the load
    // stops. Saturation is not a database outage: the database gate does
    // not hear it, so only shed calls are refused.
    let mut not_serving = Vec::new();
    let mut saturated = Vec::new();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push((started.elapsed(), rss(&services)));
        for service in services {
            let health = service.health().await;
            if health == Some(ServingStatus::Serving as i32) {
                continue;
            }
            if service.binary == "academy-learner"
                && health == Some(ServingStatus::NotServing as i32)
            {
                saturated.push(started.elapsed());
            } else {
                not_serving.push((started.elapsed(), service.binary.clone(), health));
            }
        }
    }
    let mut registered = 0;
    for client in clients {
        registered += client.await.unwrap();
    }
    let elapsed = started.elapsed();
    let lag = support::caught_up(&stack, Duration::from_secs(30)).await;
    samples.push((started.elapsed(), rss(&services)));

    let failures = outcomes.failures();
    let shed: u64 = failures
        .iter()
        .filter(|(key, _)| key.contains(":ResourceExhausted"))
        .map(|(_, n)| n)
        .sum();
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= WARM_UP)
        .or(samples.first())
        .map(|(_, r)| r.clone())
        .unwrap();
    let last = samples.last().map(|(_, r)| r.clone()).unwrap();
    let peak: Vec<u64> = (0..services.len())
        .map(|s| samples.iter().map(|(_, r)| r[s]).max().unwrap())
        .collect();
    eprintln!(
        "[load] {CLIENTS} clients for {elapsed:.1?}: {} calls answered ({:.0}/s), {registered} \
         learners registered; shed (RESOURCE_EXHAUSTED, retried): {shed}; failures: {failures:?}",
        outcomes.oks(),
        outcomes.oks() as f64 / elapsed.as_secs_f64(),
    );
    for (s, service) in services.iter().enumerate() {
        eprintln!(
            "[load] {} RSS MiB: start {}, after warm-up {}, peak {}, end {} (bound: peak <= \
             {RSS_CEILING_MIB}, growth after warm-up <= {RSS_GROWTH_MIB})",
            service.binary, at_start[s], warm[s], peak[s], last[s]
        );
    }
    eprintln!(
        "[load] feed lag back to zero {lag:.1?} after the load stopped; health samples other \
         than SERVING during the load: {not_serving:?}; learner saturated (NOT_SERVING) at \
         {saturated:?}"
    );

    assert!(
        not_serving.is_empty(),
        "SERVING throughout the load, but for saturation: {not_serving:?}"
    );
    assert!(
        saturated.is_empty() || shed > 0,
        "NOT_SERVING without any shedding: {saturated:?}"
    );
    let mut back = false;
    for _ in 0..50 {
        if stack.learner.health().await == Some(ServingStatus::Serving as i32) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "the learner service is SERVING again after the load");
    assert!(
        outcomes.unexpected(&[Code::ResourceExhausted]).is_empty(),
        "no errors but deliberate shedding: {failures:?} {:?}",
        outcomes.examples()
    );
    for (s, service) in services.iter().enumerate() {
        assert!(
            peak[s] <= RSS_CEILING_MIB,
            "{} peaked at {} MiB",
            service.binary,
            peak[s]
        );
        assert!(
            last[s] <= warm[s] + RSS_GROWTH_MIB,
            "{} grew from {} to {} MiB after warm-up",
            service.binary,
            warm[s],
            last[s]
        );
    }
    assert!(
        lag.is_some_and(|t| t < Duration::from_secs(10)),
        "feed lag back to zero within seconds: {lag:?}"
    );
    let learner_db = Sql::open(&stack.learner_db.url).await;
    assert_eq!(
        learner_db.count("learners").await,
        registered as i64,
        "every acknowledged registration stored, once"
    );
    let source = Figures::of_source(&learner_db).await;
    let report = Figures::of_report(&support::summary(&stack.reporting).await);
    assert_eq!(report, source, "reporting equals the source after the load");
}
