//! Issue #15, item 3: idle client streams time out, and one caller's calls
//! in flight are capped below the server's, so one token cannot lock the
//! service for everyone else.

use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::common::*;

on_both_backends!(
    an_idle_import_stream_times_out_and_keeps_the_rows_before,
    one_caller_cannot_take_every_call_slot,
);

/// How a client stream whose sender stays open and silent ends: the
/// server's refusal, within 20 s.
async fn idle_stream_refusal<T: std::fmt::Debug>(
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> tonic::Status {
    let reply = tokio::time::timeout(Duration::from_secs(20), call).await;
    reply
        .expect("an idle stream is ended by the server")
        .unwrap_err()
}

async fn an_idle_import_stream_times_out_and_keeps_the_rows_before(db: TestDb) {
    let stack = Stack::start_with(db, |settings| settings.stream_idle_timeout_secs = 1).await;
    let (tx, rx) = mpsc::channel(4);
    tx.send(register("idle1@example.az")).await.unwrap();
    tx.send(register("idle2@example.az")).await.unwrap();
    let mut client = stack.learners().await;
    // The sender stays open and silent.
    let status = idle_stream_refusal(client.import_learners(ReceiverStream::new(rx))).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(
        academy_testkit::grpc::error_reason(&status).as_deref(),
        Some("STREAM_IDLE")
    );
    assert_eq!(all_learners(&stack).await.len(), 2, "the rows before stay");
    drop(tx);

    // The same for the other two client streams.
    let mut enrollments = stack.enrollments().await;
    let (tx, rx) = mpsc::channel::<EnrollRequest>(1);
    let status = idle_stream_refusal(enrollments.bulk_enroll(ReceiverStream::new(rx))).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    drop(tx);
    let (tx, rx) = mpsc::channel::<RecordProgressRequest>(1);
    let idle = enrollments.bulk_record_progress(ReceiverStream::new(rx));
    let status = idle_stream_refusal(idle).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    drop(tx);
}

async fn one_caller_cannot_take_every_call_slot(db: TestDb) {
    let stack = Stack::start_authenticated_with(db, |config| {
        config.max_concurrent_calls_per_caller = 4;
    })
    .await;
    let mallory = token("ops:mallory", &["learners.write", "learners.read"]);
    let alice = token("ops:alice", &["learners.write", "learners.read"]);
    let learner = register_learner(&stack, authorized(register("kept@example.az"), &alice)).await;
    // Mallory opens four imports and sends nothing.
    let open_import = |token: String| {
        let (tx, rx) = mpsc::channel::<RegisterLearnerRequest>(1);
        let stack_addr = stack.learner.addr;
        let call = tokio::spawn(async move {
            let channel = tonic::transport::Channel::from_shared(format!("http://{stack_addr}"))
                .unwrap()
                .connect()
                .await
                .unwrap();
            LearnerServiceClient::new(channel)
                .import_learners(authorized(ReceiverStream::new(rx), &token))
                .await
        });
        (tx, call)
    };
    let mut imports: Vec<_> = (0..4).map(|_| open_import(mallory.clone())).collect();
    let get = |who: &str| {
        authorized(
            GetLearnerRequest {
                id: learner.id.clone(),
            },
            who,
        )
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = None;
    for _ in 0..200 {
        // A probe in flight while an import arrives takes its slot; that
        // import is refused and opened again.
        for import in &mut imports {
            if import.1.is_finished() {
                *import = open_import(mallory.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if imports.iter().any(|import| import.1.is_finished()) {
            continue;
        }
        if let Err(status) = stack.learners().await.get_learner(get(&mallory)).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("mallory's fifth call is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("calls in flight"), "{refused:?}");
    // Alice is served meanwhile.
    stack
        .learners()
        .await
        .get_learner(get(&alice))
        .await
        .unwrap();

    // Once Mallory's imports end, her calls are served again.
    let (senders, calls): (Vec<_>, Vec<_>) = imports.into_iter().unzip();
    drop(senders);
    for call in calls {
        let reply = call.await.unwrap().unwrap().into_inner();
        assert_eq!(reply.created, 0);
    }
    stack
        .learners()
        .await
        .get_learner(get(&mallory))
        .await
        .unwrap();
}

/// Issue #15, item 8: an import longer than the connection's age plus the
/// old 30 s grace was cut when the connection was recycled. Calls in
/// flight now get `ACADEMY_MAX_CONNECTION_AGE_GRACE_SECS` (an hour); new
/// calls still go to a new connection. Connections here age after 1 s and
/// the import sends a row every half second for 34 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_import_outlives_the_connection_age() {
    let stack = Stack::start_configured(
        TestDb::sqlite(),
        |_| {},
        |config| config.max_connection_age_secs = 1,
    )
    .await;
    let (tx, rx) = mpsc::channel(1);
    let mut client = stack.learners().await;
    let import = tokio::spawn(async move { client.import_learners(ReceiverStream::new(rx)).await });
    for i in 0..68 {
        tx.send(register(&format!("long{i}@example.az")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(tx);
    let reply = import.await.unwrap().expect("not cut").into_inner();
    assert_eq!(reply.created, 68);
}
