use academy_proto::events::event::Payload;
use academy_proto::events::{Event, GetHeadRequest, SubscribeRequest};
use academy_testkit::{TestDb, on_both_backends};
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::common::*;

on_both_backends!(
    every_change_is_an_event_in_gap_free_order,
    resumes_from_a_cursor_then_follows_live,
    negative_cursor_is_invalid,
);

async fn take(stream: &mut tonic::Streaming<Event>, n: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event within 10 s")
            .expect("stream open")
            .expect("event, not error");
        events.push(next);
    }
    events
}

/// The course feed from just after `after_sequence`, following live.
async fn subscribe(server: &TestServer, after_sequence: i64) -> tonic::Streaming<Event> {
    let mut feed = server.feed().await;
    let request = SubscribeRequest { after_sequence };
    feed.subscribe(request).await.unwrap().into_inner()
}

fn sequences(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.sequence).collect()
}

async fn every_change_is_an_event_in_gap_free_order(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let skill = create_skill(&mut client, "Cloud").await;
    let course = create_course(&mut client, "EV-1", vec![skill.id.clone()]).await;
    publish(&mut client, &course.id).await;

    let mut feed = server.feed().await;
    let head = feed.get_head(GetHeadRequest {}).await.unwrap().into_inner();
    assert_eq!(head.head_sequence, 3);
    let mut stream = subscribe(&server, 0).await;
    let events = take(&mut stream, 3).await;
    assert_eq!(sequences(&events), [1, 2, 3]);
    assert_eq!(
        events.iter().map(|e| e.r#type.as_str()).collect::<Vec<_>>(),
        ["skill.created", "course.created", "course.published"]
    );
    match &events[1].payload {
        Some(Payload::CourseCreated(created)) => {
            let snapshot = created.course.as_ref().unwrap();
            assert_eq!(snapshot.code, "EV-1");
            assert_eq!(snapshot.skill_ids, [skill.id]);
            assert_eq!(snapshot.module_ids.len(), 2);
        }
        other => panic!("unexpected payload {other:?}"),
    }
    assert!(
        events
            .iter()
            .all(|e| e.occurred_at.is_some() && e.record_time.is_some())
    );
}

async fn resumes_from_a_cursor_then_follows_live(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    for i in 0..4 {
        create_skill(&mut client, &format!("S{i}")).await;
    }
    let mut stream = subscribe(&server, 2).await;
    let backlog = take(&mut stream, 2).await;
    assert_eq!(sequences(&backlog), [3, 4]);

    // Live: concurrent writers, still gap-free and in order.
    let writers = (0..6).map(|i| {
        let mut client = client.clone();
        async move {
            client
                .create_skill(skill(&format!("Live {i}")))
                .await
                .unwrap()
        }
    });
    futures::future::join_all(writers).await;
    let live = take(&mut stream, 6).await;
    assert_eq!(sequences(&live), (5..=10).collect::<Vec<_>>());
    let nothing_more = tokio::time::timeout(Duration::from_millis(700), stream.next()).await;
    assert!(nothing_more.is_err(), "no duplicate or extra event");
}

async fn negative_cursor_is_invalid(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut feed = server.feed().await;
    let status = feed
        .subscribe(SubscribeRequest { after_sequence: -1 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}
