//! Case 3: the database goes away. All three services reach PostgreSQL
//! through a TCP proxy the test cuts for 10 s while clients register
//! learners: calls fail with UNAVAILABLE well inside their deadline, every
//! service's health turns NOT_SERVING, and soon after the database is back
//! everything serves again, with the same processes, no acknowledged write
//! lost, and reporting's figures equal to the source.

use crate::support::{self, Figures, Outcomes, Proxy, Sql, Stack, registration, retry_on};
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

const WORKERS: usize = 8;
const OUTAGE: Duration = Duration::from_secs(10);
/// Every call's deadline (the client's grpc-timeout).
const DEADLINE: Duration = Duration::from_secs(8);
/// How soon a call fails while the database refuses connections: the
/// pool's acquire timeout (5 s) and some slack for a loaded machine, so
/// well inside the deadline.
const FAIL_FAST: Duration = Duration::from_millis(6500);

/// How the database goes away.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outage {
    /// Connections dropped and refused, as when PostgreSQL is stopped.
    Cut,
    /// Connections open but silent, as behind a network partition: nothing
    /// fails by itself, so only deadlines and timeouts end the calls.
    Stall,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_fast_and_heals_without_a_restart() {
    let _serial = support::serial().await;
    outage(Outage::Cut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_database_holds_no_call_past_its_deadline_and_heals() {
    let _serial = support::serial().await;
    outage(Outage::Stall).await;
}

async fn outage(kind: Outage) {
    // A hung database fails nothing by itself: a call ends at its deadline
    // (DEADLINE_EXCEEDED, outcome unknown), and the client retries it.
    let (retryable, expected): (&[Code], &[Code]) = match kind {
        Outage::Cut => (support::RETRYABLE, &[Code::Unavailable]),
        Outage::Stall => (
            &[
                Code::Unavailable,
                Code::Cancelled,
                Code::Unknown,
                Code::DeadlineExceeded,
            ],
            // tonic's client keeps the same deadline and, when its timer
            // fires first, reports CANCELLED ("Timeout expired").
            &[Code::Unavailable, Code::DeadlineExceeded, Code::Cancelled],
        ),
    };
    // Cut: no call may take near its deadline. Hung: none may outlive it.
    let limit = match kind {
        Outage::Cut => FAIL_FAST,
        Outage::Stall => DEADLINE + Duration::from_secs(1),
    };
    let proxy = Proxy::start(Proxy::postgres_server()).await;
    let Some(stack) = Stack::start_with(Some(&proxy), &[], false).await else {
        return;
    };
    let services = [&stack.course, &stack.learner, &stack.reporting];
    let pids: Vec<u32> = services.iter().map(|s| s.pid()).collect();
    let url = stack.learner.endpoint();
    let all_report = |status: ServingStatus| async move {
        for service in services {
            if service.health().await != Some(status as i32) {
                return false;
            }
        }
        true
    };

    let outcomes = Arc::new(Outcomes::default());
    // Failures seen while the database was cut, by code, and the slowest.
    let during = Arc::new(Outcomes::default());
    let cut = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (url, outcomes, during, cut, acked, stop) = (
                url.clone(),
                outcomes.clone(),
                during.clone(),
                cut.clone(),
                acked.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                // The deadline travels as grpc-timeout, for the server to
                // keep; the channel's own limit is only a backstop.
                let client = LearnerServiceClient::new(support::lazy_channel(
                    &url,
                    DEADLINE + Duration::from_secs(2),
                ));
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let request = registration(&format!("outage-w{w}-{i}"), i);
                    let reply = retry_on(
                        retryable,
                        "RegisterLearner",
                        &outcomes,
                        Duration::from_secs(60),
                        || {
                            let (mut client, request) = (client.clone(), request.clone());
                            let (during, cut) = (during.clone(), cut.clone());
                            async move {
                                let started = Instant::now();
                                let mut request = tonic::Request::new(request);
                                request.set_timeout(DEADLINE);
                                let result = client.register_learner(request).await;
                                if let Err(status) = &result
                                    && cut.load(Ordering::Relaxed)
                                {
                                    during.failed_after(
                                        "RegisterLearner",
                                        status,
                                        started.elapsed(),
                                    );
                                }
                                result
                            }
                        },
                    )
                    .await
                    .unwrap_or_else(|status| panic!("outage-w{w}-{i}: {status:?}"));
                    acked.lock().unwrap().push(reply.id);
                    i += 1;
                }
            })
        })
        .collect();

    support::wait_for(Duration::from_secs(30), || async { outcomes.oks() >= 100 })
        .await
        .expect("load under way");
    let acked_before = outcomes.oks();
    match kind {
        Outage::Cut => proxy.cut(),
        Outage::Stall => proxy.stall(),
    }
    cut.store(true, Ordering::Relaxed);
    let cut_at = Instant::now();
    let not_serving = support::wait_for(OUTAGE, || all_report(ServingStatus::NotServing)).await;
    // Reads on each service fail the same way as the writes.
    let reads = reads_while_gone(&stack, &during).await;
    let remaining = OUTAGE.saturating_sub(cut_at.elapsed());
    tokio::time::sleep(remaining).await;
    let acked_during = outcomes.oks() - acked_before;
    cut.store(false, Ordering::Relaxed);
    match kind {
        Outage::Cut => proxy.restore(),
        Outage::Stall => proxy.heal(),
    }
    let restored_at = Instant::now();
    let serving = support::wait_for(Duration::from_secs(30), || {
        all_report(ServingStatus::Serving)
    })
    .await;
    let before = outcomes.oks();
    let calls_back = support::wait_for(Duration::from_secs(30), || async {
        outcomes.oks() >= before + 50
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    let failed = during.failures();
    eprintln!(
        "[outage/{kind:?}] database gone for {OUTAGE:?} after {acked_before} acknowledged calls; \
         NOT_SERVING after {not_serving:.1?}; failures while cut: {failed:?}, slowest {:.2?} \
         (deadline {DEADLINE:?}); {acked_during} calls acknowledged while cut; SERVING again \
         {serving:.1?} after the database returned, 50 more calls acknowledged {calls_back:.1?} \
         after; {} proxied connections in all",
        during.slowest_failure(),
        proxy.connections(),
    );
    assert_eq!(
        reads, 3,
        "the three reads failed while the database was gone"
    );
    assert!(
        not_serving.is_some(),
        "health turned NOT_SERVING while the database was cut"
    );
    assert!(
        !failed.is_empty(),
        "calls failed while the database was cut"
    );
    assert!(
        during.unexpected(expected).is_empty(),
        "only {expected:?} while the database was gone: {failed:?} {:?}",
        during.examples()
    );
    assert!(
        during.slowest_failure() < limit,
        "failures came within {limit:?}: {:?}",
        during.slowest_failure()
    );
    assert!(
        serving.is_some_and(|t| t < Duration::from_secs(10)),
        "SERVING within seconds of the database's return: {serving:?}"
    );
    assert!(
        calls_back.is_some_and(|t| t < Duration::from_secs(15)),
        "calls succeed again: {calls_back:?}, {:?} since restore",
        restored_at.elapsed()
    );
    let now: Vec<u32> = services.iter().map(|s| s.pid()).collect();
    assert_eq!(now, pids, "the same processes throughout");

    let db = Sql::open(&stack.learner_db.url).await;
    let stored: BTreeSet<String> = db
        .strings("SELECT id AS s FROM learners")
        .await
        .into_iter()
        .collect();
    let acked: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        stored, acked,
        "the stored learners are exactly the acknowledged ones"
    );
    assert_eq!(
        db.events().await.get("learner.registered"),
        Some(&(acked.len() as i64)),
        "one event each"
    );
    let lag = support::caught_up(&stack, Duration::from_secs(30)).await;
    let source = Figures::of_source(&db).await;
    let report = Figures::of_report(&support::summary(&stack.reporting).await);
    eprintln!(
        "[outage/{kind:?}] {} learners acknowledged, {} stored; reporting caught up {lag:.1?} after: \
         {report:?}",
        acked.len(),
        stored.len()
    );
    assert!(lag.is_some(), "reporting caught up after the outage");
    assert_eq!(
        report, source,
        "reporting equals the source after the outage"
    );
}

/// One read on each service (a course list, a learner list, a report), with
/// the suite's deadline; failures go into `during`. Returns how many failed.
async fn reads_while_gone(stack: &Stack, during: &Outcomes) -> usize {
    use academy_proto::course::ListCoursesRequest;
    use academy_proto::course::course_service_client::CourseServiceClient;
    use academy_proto::learner::ListLearnersRequest;
    use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
    use academy_proto::reporting::{GetProgramSummaryRequest, Period};

    fn timed<T>(message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(DEADLINE);
        request
    }
    let backstop = DEADLINE + Duration::from_secs(2);
    let mut failed = 0;
    let started = Instant::now();
    let courses = CourseServiceClient::new(stack.course.lazy_channel(backstop))
        .list_courses(timed(ListCoursesRequest::default()))
        .await;
    if let Err(status) = courses {
        during.failed_after("ListCourses", &status, started.elapsed());
        failed += 1;
    }
    let started = Instant::now();
    let learners = LearnerServiceClient::new(stack.learner.lazy_channel(backstop))
        .list_learners(timed(ListLearnersRequest::default()))
        .await;
    if let Err(status) = learners {
        during.failed_after("ListLearners", &status, started.elapsed());
        failed += 1;
    }
    let started = Instant::now();
    let summary = ReportingServiceClient::new(stack.reporting.lazy_channel(backstop))
        .get_program_summary(timed(GetProgramSummaryRequest {
            program_id: String::new(),
            period: Some(Period {
                half: support::PERIOD.into(),
                ..Default::default()
            }),
        }))
        .await;
    if let Err(status) = summary {
        during.failed_after("GetProgramSummary", &status, started.elapsed());
        failed += 1;
    }
    failed
}
