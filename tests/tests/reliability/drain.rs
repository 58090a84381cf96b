//! Case 2: graceful drain. The learner service (embedded SQLite) gets
//! SIGTERM under load, with a client-streaming import in flight: the import
//! finishes with every row, new calls are refused with UNAVAILABLE, the
//! process exits 0 within the grace period, and every acknowledged
//! registration is in the database.

use crate::support::{self, Outcomes, Sql, registration};
use academy_e2e::ServiceProcess;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const WORKERS: usize = 16;
const DRAIN_SECS: u64 = 5;
const IMPORT_ROWS: usize = 60;

/// A learner service on SQLite that drains for `secs` after SIGTERM.
async fn learner_draining_for(secs: u64) -> ServiceProcess {
    let drain = secs.to_string();
    let env = [
        ("ACADEMY_DRAIN_TIMEOUT_SECS", drain.as_str()),
        ("ACADEMY_LOG", "error"),
    ];
    ServiceProcess::start("academy-learner", &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_calls_and_refuses_new_ones() {
    let _serial = support::serial().await;
    let mut learner = learner_draining_for(DRAIN_SECS).await;
    let url = learner.endpoint();

    // An import whose stream stays open across the SIGTERM.
    let (rows, rx) = tokio::sync::mpsc::channel(IMPORT_ROWS);
    let mut importer =
        LearnerServiceClient::new(support::lazy_channel(&url, Duration::from_secs(30)));
    let import =
        tokio::spawn(async move { importer.import_learners(ReceiverStream::new(rx)).await });
    for i in 0..IMPORT_ROWS / 2 {
        rows.send(registration(&format!("drain-import-{i}"), i as i64))
            .await
            .unwrap();
    }

    let outcomes = Arc::new(Outcomes::default());
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (url, outcomes, acked, stop) =
                (url.clone(), outcomes.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                let mut client =
                    LearnerServiceClient::new(support::lazy_channel(&url, Duration::from_secs(10)));
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let request = registration(&format!("drain-w{w}-{i}"), 1000 + i);
                    match client.register_learner(request).await {
                        Ok(reply) => {
                            outcomes.ok();
                            acked.lock().unwrap().push(reply.into_inner().id);
                        }
                        Err(status) => {
                            outcomes.failed_after("RegisterLearner", &status, started.elapsed());
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();

    support::wait_for(Duration::from_secs(30), || async { outcomes.oks() >= 100 })
        .await
        .expect("load under way");
    learner.terminate();
    let term = Instant::now();
    let acked_at_term = outcomes.oks();

    // The rest of the import, sent while the server drains.
    for i in IMPORT_ROWS / 2..IMPORT_ROWS {
        rows.send(registration(&format!("drain-import-{i}"), i as i64))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(rows);
    let imported = import
        .await
        .unwrap()
        .expect("the in-flight import completes")
        .into_inner();
    assert_eq!(
        imported.created, IMPORT_ROWS as i64,
        "every row of the in-flight import"
    );

    // A new client is refused while the server drains (or after it exited).
    let refused = LearnerServiceClient::new(support::lazy_channel(&url, Duration::from_secs(5)))
        .register_learner(registration("drain-late", 5000))
        .await
        .expect_err("a new call after SIGTERM is refused");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    // Within the grace period.
    let exit = learner.exit(Duration::from_secs(DRAIN_SECS + 5)).await;
    let exited_after = term.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(exit.success(), "exit status 0: {exit:?}");
    assert!(
        exited_after < Duration::from_secs(DRAIN_SECS + 1),
        "exit within the drain timeout: {exited_after:?}"
    );
    let failures = outcomes.failures();
    eprintln!(
        "[drain] SIGTERM after {acked_at_term} acknowledged calls; import of {IMPORT_ROWS} rows \
         (half sent after SIGTERM) created {}; {} calls acknowledged in all; refused after \
         SIGTERM: {failures:?}; slowest refusal {:?}; exit {:?} after {exited_after:.2?}; messages: {:?}",
        imported.created,
        outcomes.oks(),
        outcomes.slowest_failure(),
        exit.code(),
        outcomes.examples(),
    );

    let db = Sql::open(&format!(
        "sqlite://{}/learner.db?mode=ro",
        learner.data_dir.path().display()
    ))
    .await;
    let stored: BTreeSet<String> = db
        .strings("SELECT id AS s FROM learners")
        .await
        .into_iter()
        .collect();
    let acked: Vec<String> = acked.lock().unwrap().clone();
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    assert_eq!(
        stored.len(),
        acked.len() + IMPORT_ROWS,
        "stored learners are the acknowledged calls and the import"
    );
    let events = db.events().await;
    assert_eq!(
        events.get("learner.registered"),
        Some(&(stored.len() as i64))
    );
    // Calls that raced the server's GOAWAY fail inside the client's own
    // transport (tonic gives CANCELLED or INTERNAL with a source); the
    // counts above show they left nothing behind. What the server itself
    // answers after SIGTERM is UNAVAILABLE and nothing else.
    assert!(
        outcomes
            .unexpected_from_server(&[Code::Unavailable])
            .is_empty(),
        "calls after SIGTERM are refused with UNAVAILABLE, nothing else: {failures:?} {:?}",
        outcomes.examples()
    );
}

/// A call that outlives the drain timeout does not hold the process: it is
/// cut when the timeout ends, the process still exits 0, and what the cut
/// call had sent is either stored whole (with its events) or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_is_bounded_by_its_timeout() {
    let _serial = support::serial().await;
    const BOUNDED_DRAIN_SECS: u64 = 2;
    let mut learner = learner_draining_for(BOUNDED_DRAIN_SECS).await;
    let url = learner.endpoint();
    let (rows, rx) = tokio::sync::mpsc::channel(8);
    let mut importer =
        LearnerServiceClient::new(support::lazy_channel(&url, Duration::from_secs(60)));
    let import =
        tokio::spawn(async move { importer.import_learners(ReceiverStream::new(rx)).await });
    for i in 0..3 {
        rows.send(registration(&format!("bounded-{i}"), i))
            .await
            .unwrap();
    }
    // Let the rows reach the server before the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;
    learner.terminate();
    let term = Instant::now();
    let exit = learner
        .exit(Duration::from_secs(BOUNDED_DRAIN_SECS + 10))
        .await;
    let exited_after = term.elapsed();
    let cut = import.await.unwrap();
    drop(rows);

    let db = Sql::open(&format!(
        "sqlite://{}/learner.db?mode=ro",
        learner.data_dir.path().display()
    ))
    .await;
    let stored = db.count("learners").await;
    let events = db.events().await;
    eprintln!(
        "[drain/bounded] an import left open past a {BOUNDED_DRAIN_SECS} s drain: exit {:?} \
         after {exited_after:.2?}; the import got {:?}; {stored} learners stored, events \
         {events:?}",
        exit.code(),
        cut.as_ref()
            .map(|r| r.get_ref().created)
            .map_err(|s| s.code()),
    );
    assert!(exit.success(), "exit status 0: {exit:?}");
    assert!(
        exited_after >= Duration::from_secs(BOUNDED_DRAIN_SECS)
            && exited_after < Duration::from_secs(BOUNDED_DRAIN_SECS + 2),
        "exit when the drain timeout ends: {exited_after:?}"
    );
    assert!(cut.is_err(), "the open import was cut");
    assert!(stored == 0 || stored == 3, "all or nothing: {stored}");
    assert_eq!(
        events.get("learner.registered").copied().unwrap_or(0),
        stored,
        "one event per stored learner"
    );
}

/// A producer with a feed subscriber (reporting follows its feed over a
/// server stream that never ends by itself) still drains promptly: the
/// stream is closed at SIGTERM rather than held until the drain timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_producer_drains_without_waiting_for_its_subscribers() {
    let _serial = support::serial().await;
    const LONG_DRAIN_SECS: u64 = 15;
    let drain = LONG_DRAIN_SECS.to_string();
    let mut stack = support::Stack::sqlite().await;
    // Restart the producers with a long drain timeout, so that waiting for
    // the subscriber would show.
    let env = [("ACADEMY_DRAIN_TIMEOUT_SECS", drain.as_str())];
    stack.learner.kill().await;
    stack.learner.set_env(&env);
    stack.learner.restart().await;
    support::caught_up(&stack, Duration::from_secs(30))
        .await
        .expect("reporting follows the learner feed");
    LearnerServiceClient::new(stack.learner.lazy_channel(Duration::from_secs(10)))
        .register_learner(registration("followed", 1))
        .await
        .unwrap();
    support::caught_up(&stack, Duration::from_secs(30))
        .await
        .expect("reporting applied the registration");

    let process = &mut stack.learner;
    process.terminate();
    let term = Instant::now();
    let exit = process.exit(Duration::from_secs(LONG_DRAIN_SECS + 5)).await;
    let exited_after = term.elapsed();
    eprintln!(
        "[drain/followed] learner service with reporting subscribed to its feed: exit {:?} \
         {exited_after:.2?} after SIGTERM (drain timeout {LONG_DRAIN_SECS} s)",
        exit.code()
    );
    assert!(exit.success(), "exit 0: {exit:?}");
    assert!(
        exited_after < Duration::from_secs(3),
        "the feed subscriber did not hold the drain: {exited_after:?}"
    );
}
