//! `academy.events.v1.EventFeed`: the backlog after a cursor, then live events.

use academy_domain::DomainError;
use academy_proto::events::event_feed_server::{EventFeed, EventFeedServer};
use academy_proto::events::{Event, GetHeadRequest, GetHeadResponse, SubscribeRequest};
use futures::Stream;
use sea_orm::DatabaseConnection;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::outbox::{self, Outbox};
use crate::db::db_error;
use crate::status::{respond, to_status};
use crate::time::timestamp;

/// Events read from the database per query while streaming a backlog.
const BATCH: u64 = 500;
/// Events buffered per subscriber before the reader waits for the client.
const BUFFER: usize = 1024;
/// Fallback poll for events committed by another replica, whose commits do
/// not wake this process.
const POLL: Duration = Duration::from_millis(500);

/// Serves one service's outbox to followers.
#[derive(Debug, Clone)]
pub struct FeedService {
    db: DatabaseConnection,
    outbox: Outbox,
    shutdown: CancellationToken,
}

/// The scope each feed method needs (consumers hold `events.read`).
pub const SCOPES: &[(&str, &str)] = &[
    ("Subscribe", crate::auth::scope::EVENTS_READ),
    ("GetHead", crate::auth::scope::EVENTS_READ),
];

impl FeedService {
    pub fn new(db: DatabaseConnection, outbox: Outbox, shutdown: CancellationToken) -> Self {
        Self {
            db,
            outbox,
            shutdown,
        }
    }

    pub fn into_server(self) -> EventFeedServer<Self> {
        EventFeedServer::new(self)
    }

    /// Copies events after `cursor` into `tx` until the client goes away or
    /// the server shuts down.
    async fn pump(self, mut cursor: i64, tx: mpsc::Sender<Result<Event, Status>>) {
        let mut wake = self.outbox.watch();
        loop {
            let events = match outbox::read_after(&self.db, cursor, BATCH).await {
                Ok(events) => events,
                Err(err) => {
                    let _ = tx.send(Err(to_status(db_error(err)))).await;
                    return;
                }
            };
            let caught_up = (events.len() as u64) < BATCH;
            for event in events {
                cursor = event.sequence;
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            if caught_up {
                wake.mark_unchanged();
                tokio::select! {
                    _ = wake.changed() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = tx.closed() => return,
                    _ = self.shutdown.cancelled() => return,
                }
            }
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<Event, Status>> + Send>>;

#[tonic::async_trait]
impl EventFeed for FeedService {
    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let after = request.into_inner().after_sequence;
        if after < 0 {
            return Err(to_status(DomainError::invalid(
                "after_sequence",
                "must not be negative",
            )));
        }
        let (tx, rx) = mpsc::channel(BUFFER);
        tokio::spawn(self.clone().pump(after, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_head(
        &self,
        _request: Request<GetHeadRequest>,
    ) -> Result<Response<GetHeadResponse>, Status> {
        let head = outbox::head(&self.db).await.map_err(db_error);
        respond(head.map(|(sequence, at)| GetHeadResponse {
            head_sequence: sequence,
            head_time: at.map(timestamp),
        }))
    }
}
