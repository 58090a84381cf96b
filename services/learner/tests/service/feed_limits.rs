//! Issue #15, item 2: the event feed cannot take the service down. Its
//! subscriptions are bounded per caller and per process, live events come
//! from one shared poller, and a subscriber that stops reading is cut with
//! a clear status instead of holding memory without end.

use academy_proto::events::{GetHeadRequest, SubscribeRequest};
use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use std::time::Duration;
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::common::*;

on_both_backends!(
    subscriptions_are_bounded_per_caller_and_per_process,
    a_subscriber_that_stops_reading_is_cut_with_a_clear_status,
);

async fn subscriptions_are_bounded_per_caller_and_per_process(db: TestDb) {
    let stack = Stack::start_authenticated_with(db, |config| {
        config.max_subscriptions = 12;
        config.max_subscriptions_per_caller = 8;
    })
    .await;
    let alice = token("feed:alice", &["events.read"]);
    let bob = token("feed:bob", &["events.read", "learners.write"]);
    let carol = token("feed:carol", &["events.read"]);
    let mut feed = stack.feed().await;
    let subscribe = |after: i64, who: &str| {
        authorized(
            SubscribeRequest {
                after_sequence: after,
            },
            who,
        )
    };

    // Alice opens her eight and reads none of them.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(
            feed.subscribe(subscribe(0, &alice))
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let status = feed.subscribe(subscribe(0, &alice)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Bob still gets in, up to the process limit of twelve.
    let head = feed
        .get_head(authorized(GetHeadRequest {}, &bob))
        .await
        .unwrap()
        .into_inner()
        .head_sequence;
    let mut bobs = Vec::new();
    for _ in 0..4 {
        bobs.push(
            feed.subscribe(subscribe(head, &bob))
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let status = feed.subscribe(subscribe(0, &carol)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Meanwhile the service serves: health, and a write whose event
    // reaches every live subscriber.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", stack.learner.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let health = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);
    let learner = register_learner(&stack, authorized(register("live@example.az"), &bob)).await;
    for stream in &mut bobs {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("live event in time")
            .unwrap()
            .expect("an event");
        assert_eq!(event.r#type, "learner.registered");
        assert_eq!(event.sequence, head + 1);
        let _ = &learner;
    }

    // Closing Alice's streams gives their slots back.
    drop(held);
    let mut admitted = false;
    for _ in 0..50 {
        if feed.subscribe(subscribe(0, &carol)).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(admitted, "slots are given back when streams close");
}

async fn a_subscriber_that_stops_reading_is_cut_with_a_clear_status(db: TestDb) {
    let stack = Stack::start_configured(
        db,
        |settings| settings.import_batch_size = 500,
        |config| config.slow_subscriber_secs = 1,
    )
    .await;
    // A client with HTTP/2's smallest default windows (64 KiB), so what it
    // does not read stays on the server (tonic's own are megabytes).
    let small = tonic::transport::Channel::from_shared(format!("http://{}", stack.learner.addr))
        .unwrap()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .unwrap();
    let mut feed = academy_proto::events::event_feed_client::EventFeedClient::new(small);
    let mut stalled = feed
        .subscribe(SubscribeRequest { after_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    // Far more than the subscriber's buffer and the HTTP/2 windows hold.
    let rows: Vec<RegisterLearnerRequest> = (0..6000)
        .map(|i| register(&format!("slow{i}@example.az")))
        .collect();
    let reply = import_learners(&stack, rows).await;
    assert_eq!(reply.created, 6000);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        let mut received = 0u64;
        loop {
            match stalled.message().await {
                Ok(Some(_)) => received += 1,
                Ok(None) => return (received, None),
                Err(status) => return (received, Some(status)),
            }
        }
    })
    .await
    .expect("the stalled stream ends instead of hanging");
    let (received, status) = ended;
    let status = status.expect("ended with a status");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too slow"), "{status:?}");
    assert!(received < 6000, "cut before the end: {received}");

    // Resubscribing from the cursor continues where it left off.
    let mut again = feed
        .subscribe(SubscribeRequest {
            after_sequence: i64::try_from(received).unwrap(),
        })
        .await
        .unwrap()
        .into_inner();
    let next = again.message().await.unwrap().expect("an event");
    assert_eq!(next.sequence, i64::try_from(received).unwrap() + 1);
}
