//! `academy.events.v1.EventFeed`: the backlog after a cursor, then live events.
//!
//! Bounded on every side, so a token with `events.read` cannot take the
//! service down (issue #15, item 2):
//! - at most [`FeedLimits::max_subscriptions`] subscriptions per process and
//!   [`FeedLimits::max_per_caller`] per token subject; the next one is
//!   RESOURCE_EXHAUSTED at once;
//! - one shared poller (the tail) reads new events from the database and
//!   hands them to every live subscriber in memory; a subscriber reads the
//!   database itself only to catch up on a backlog, and at most
//!   [`DB_READERS`] such reads run at once, so the feed never holds more
//!   than that many of the pool's connections (health and calls keep theirs);
//! - each subscriber has a buffer of [`BUFFER`] events; one that leaves it
//!   full for [`FeedLimits::slow_subscriber`] is cut with RESOURCE_EXHAUSTED
//!   (`SUBSCRIBER_TOO_SLOW`) and resubscribes from its cursor.

use academy_domain::DomainError;
use academy_proto::events::event_feed_server::{EventFeed, EventFeedServer};
use academy_proto::events::{Event, GetHeadRequest, GetHeadResponse, SubscribeRequest};
use futures::Stream;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::outbox::{self, Outbox};
use crate::auth::Caller;
use crate::db::db_error;
use crate::status::{respond, to_status};
use crate::time::timestamp;

/// Events read from the database per query.
const BATCH: u64 = 500;
/// Events buffered per subscriber before the reader waits for the client.
pub const BUFFER: usize = 256;
/// Events the tail keeps for live subscribers that are a little behind;
/// one further behind catches up from the database.
const LIVE: usize = 1024;
/// Database reads the feed runs at once (backlogs and the tail together).
pub const DB_READERS: usize = 2;
/// Fallback poll for events committed by another replica, whose commits do
/// not wake this process.
const POLL: Duration = Duration::from_millis(500);

/// How many subscriptions a feed serves, and how patient it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLimits {
    /// Subscriptions open at once in this process.
    pub max_subscriptions: usize,
    /// Subscriptions open at once per token subject.
    pub max_per_caller: usize,
    /// How long a subscriber may leave its buffer full before it is cut.
    pub slow_subscriber: Duration,
}

impl Default for FeedLimits {
    fn default() -> Self {
        Self {
            max_subscriptions: 64,
            max_per_caller: 8,
            slow_subscriber: Duration::from_secs(30),
        }
    }
}

impl FeedLimits {
    /// The limits `config` sets. Without auth every caller is the same
    /// anonymous one, so only the process limit applies.
    pub fn from_config(config: &crate::ServerConfig) -> Self {
        let max_subscriptions = config.max_subscriptions.max(1);
        Self {
            max_subscriptions,
            max_per_caller: if config.auth.auth_disabled {
                max_subscriptions
            } else {
                config.max_subscriptions_per_caller.max(1)
            },
            slow_subscriber: Duration::from_secs(config.slow_subscriber_secs.max(1)),
        }
    }
}

/// Serves one service's outbox to followers.
#[derive(Debug, Clone)]
pub struct FeedService {
    db: DatabaseConnection,
    outbox: Outbox,
    shutdown: CancellationToken,
    limits: FeedLimits,
    shared: Arc<Shared>,
}

/// What every subscription of one feed shares.
#[derive(Debug)]
struct Shared {
    slots: Arc<Semaphore>,
    per_caller: Mutex<HashMap<String, usize>>,
    db_readers: Semaphore,
    live: broadcast::Sender<Arc<Event>>,
    /// The lowest cursor a subscriber switched to live at since the tail
    /// last looked: the tail reads again from there, so nothing committed
    /// between a catch-up and the switch is missed.
    rewind: AtomicI64,
    rewound: Notify,
    tail_started: OnceLock<()>,
}

/// The scope each feed method needs (consumers hold `events.read`).
pub const SCOPES: &[(&str, &str)] = &[
    ("Subscribe", crate::auth::scope::EVENTS_READ),
    ("GetHead", crate::auth::scope::EVENTS_READ),
];

impl FeedService {
    /// Adds this producer's change feed to `services`, open to the feed
    /// scopes, with the subscription limits of `config`.
    pub fn add_to(
        services: &mut crate::server::Services,
        config: &crate::ServerConfig,
        db: DatabaseConnection,
        outbox: Outbox,
        shutdown: CancellationToken,
    ) {
        let feed = Self::new(db, outbox, shutdown, FeedLimits::from_config(config));
        services.add(feed.into_server()).authorize(
            academy_proto::events::event_feed_server::SERVICE_NAME,
            SCOPES,
        );
    }

    pub fn new(
        db: DatabaseConnection,
        outbox: Outbox,
        shutdown: CancellationToken,
        limits: FeedLimits,
    ) -> Self {
        let shared = Shared {
            slots: Arc::new(Semaphore::new(limits.max_subscriptions.max(1))),
            per_caller: Mutex::new(HashMap::new()),
            db_readers: Semaphore::new(DB_READERS),
            live: broadcast::Sender::new(LIVE),
            rewind: AtomicI64::new(i64::MAX),
            rewound: Notify::new(),
            tail_started: OnceLock::new(),
        };
        Self {
            db,
            outbox,
            shutdown,
            limits,
            shared: Arc::new(shared),
        }
    }

    pub fn into_server(self) -> EventFeedServer<Self> {
        EventFeedServer::new(self)
    }

    /// A subscription slot for `caller`, or why there is none.
    fn admit(&self, caller: &str) -> Result<Slot, DomainError> {
        let permit = self.shared.slots.clone().try_acquire_owned().map_err(|_| {
            DomainError::ResourceExhausted {
                message: format!(
                    "the feed serves at most {} subscriptions at once; retry with backoff",
                    self.limits.max_subscriptions
                ),
            }
        })?;
        let mut open = self
            .shared
            .per_caller
            .lock()
            .map_err(|_| DomainError::internal("feed subscription table poisoned"))?;
        let count = open.entry(caller.to_owned()).or_insert(0);
        if *count >= self.limits.max_per_caller {
            return Err(DomainError::ResourceExhausted {
                message: format!(
                    "one caller may hold at most {} subscriptions to this feed; close one first",
                    self.limits.max_per_caller
                ),
            });
        }
        *count += 1;
        Ok(Slot {
            _permit: permit,
            caller: caller.to_owned(),
            shared: self.shared.clone(),
        })
    }

    /// Starts the shared poller on the first subscription.
    fn start_tail(&self) {
        self.shared.tail_started.get_or_init(|| {
            tokio::spawn(self.clone().tail());
        });
    }

    /// Reads events committed after the newest one handed out and hands
    /// them to the live subscribers; idle while there are none.
    async fn tail(self) {
        let mut wake = self.outbox.watch();
        let mut last: Option<i64> = None;
        loop {
            let listening = self.shared.live.receiver_count() > 0;
            tokio::select! {
                changed = wake.changed() => if changed.is_err() { return },
                _ = self.shared.rewound.notified() => {}
                _ = tokio::time::sleep(POLL), if listening => {}
                _ = self.shutdown.cancelled() => return,
            }
            if self.shared.live.receiver_count() == 0 {
                last = None;
                continue;
            }
            let floor = self.shared.rewind.swap(i64::MAX, Ordering::AcqRel);
            let mut cursor = match last {
                Some(last) => last.min(floor),
                None if floor == i64::MAX => continue,
                None => floor,
            };
            loop {
                let events = {
                    let Ok(_reader) = self.shared.db_readers.acquire().await else {
                        return;
                    };
                    outbox::read_after(&self.db, cursor, BATCH).await
                };
                let Ok(events) = events else {
                    // Subscribers notice the silence no more than the
                    // database does; the next tick tries again.
                    break;
                };
                let caught_up = (events.len() as u64) < BATCH;
                for event in events {
                    cursor = event.sequence;
                    let _ = self.shared.live.send(Arc::new(event));
                }
                if caught_up {
                    break;
                }
            }
            last = Some(cursor);
        }
    }

    /// Copies events after `cursor` into `tx` until the client goes away,
    /// falls too far behind, or the server shuts down.
    async fn pump(
        self,
        mut cursor: i64,
        tx: mpsc::Sender<Result<Event, Status>>,
        cut: Arc<AtomicBool>,
    ) {
        let outcome = async {
            // Read once: every event of this subscription carries it.
            let epoch = super::epoch::current(&self.db)
                .await
                .map_err(|err| Ended::Failed(to_status(db_error(err))))?;
            loop {
                cursor = self.catch_up(cursor, &epoch, &tx).await?;
                let mut live = self.shared.live.subscribe();
                self.shared.rewind.fetch_min(cursor, Ordering::AcqRel);
                self.shared.rewound.notify_one();
                loop {
                    let received = tokio::select! {
                        received = live.recv() => received,
                        _ = tx.closed() => return Err(Ended::Gone),
                        _ = self.shutdown.cancelled() => return Err(Ended::Gone),
                    };
                    match received {
                        Ok(event) if event.sequence <= cursor => {}
                        Ok(event) if event.sequence == cursor + 1 => {
                            cursor = event.sequence;
                            let mut event = Event::clone(&event);
                            event.feed_epoch.clone_from(&epoch);
                            self.send(&tx, Ok(event)).await?;
                        }
                        // A gap, or the tail moved on without us: back to
                        // the database from our cursor.
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => return Err(Ended::Gone),
                    }
                }
            }
        }
        .await;
        match outcome {
            Ok(()) | Err(Ended::Gone) => {}
            Err(Ended::TooSlow) => {
                cut.store(true, Ordering::Release);
                tracing::info!(cursor, "feed subscriber too slow: cut");
            }
            Err(Ended::Failed(status)) => {
                let _ = tx.try_send(Err(status));
            }
        }
    }

    /// Sends the events after `cursor` from the database until caught up;
    /// returns the new cursor.
    async fn catch_up(
        &self,
        mut cursor: i64,
        epoch: &str,
        tx: &mpsc::Sender<Result<Event, Status>>,
    ) -> Result<i64, Ended> {
        loop {
            let events = {
                let _reader = self
                    .shared
                    .db_readers
                    .acquire()
                    .await
                    .map_err(|_| Ended::Gone)?;
                outbox::read_after(&self.db, cursor, BATCH).await
            }
            .map_err(|err| Ended::Failed(to_status(db_error(err))))?;
            let caught_up = (events.len() as u64) < BATCH;
            for mut event in events {
                cursor = event.sequence;
                event.feed_epoch = epoch.to_owned();
                self.send(tx, Ok(event)).await?;
            }
            if caught_up {
                return Ok(cursor);
            }
        }
    }

    async fn send(
        &self,
        tx: &mpsc::Sender<Result<Event, Status>>,
        item: Result<Event, Status>,
    ) -> Result<(), Ended> {
        match tx.send_timeout(item, self.limits.slow_subscriber).await {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(Ended::TooSlow),
            Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(Ended::Gone),
        }
    }
}

/// Why a subscription's pump stopped.
enum Ended {
    /// The client left or the server is stopping.
    Gone,
    /// The client left its buffer full for too long.
    TooSlow,
    Failed(Status),
}

/// One open subscription's share of the limits; given back on drop.
#[derive(Debug)]
struct Slot {
    _permit: OwnedSemaphorePermit,
    caller: String,
    shared: Arc<Shared>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.shared.per_caller.lock()
            && let Some(count) = open.get_mut(&self.caller)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.caller);
            }
        }
    }
}

/// The stream a subscriber reads: its buffer, then, if it was cut, the
/// status saying so (before whatever is still buffered: it resubscribes
/// from its cursor anyway). Holds the subscription's slot.
struct Subscription {
    rx: mpsc::Receiver<Result<Event, Status>>,
    cut: Arc<AtomicBool>,
    done: bool,
    _slot: Slot,
}

fn too_slow() -> Status {
    to_status(DomainError::ResourceExhausted {
        message: "feed subscriber too slow: its buffer stayed full; resubscribe after the last \
                  sequence received (SUBSCRIBER_TOO_SLOW)"
            .to_owned(),
    })
}

impl Stream for Subscription {
    type Item = Result<Event, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.cut.load(Ordering::Acquire) {
            self.done = true;
            return Poll::Ready(Some(Err(too_slow())));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) if self.cut.load(Ordering::Acquire) => {
                self.done = true;
                Poll::Ready(Some(Err(too_slow())))
            }
            other => other,
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
        let caller = request
            .extensions()
            .get::<Caller>()
            .map_or_else(|| "anonymous".to_owned(), |c| c.subject.clone());
        let after = request.into_inner().after_sequence;
        if after < 0 {
            return Err(to_status(DomainError::invalid(
                "after_sequence",
                "must not be negative",
            )));
        }
        let slot = self.admit(&caller).map_err(to_status)?;
        self.start_tail();
        let (tx, rx) = mpsc::channel(BUFFER);
        let cut = Arc::new(AtomicBool::new(false));
        tokio::spawn(self.clone().pump(after, tx, cut.clone()));
        Ok(Response::new(Box::pin(Subscription {
            rx,
            cut,
            done: false,
            _slot: slot,
        })))
    }

    async fn get_head(
        &self,
        _request: Request<GetHeadRequest>,
    ) -> Result<Response<GetHeadResponse>, Status> {
        let head = async {
            let (sequence, at) = outbox::head(&self.db).await?;
            let epoch = super::epoch::current(&self.db).await?;
            Ok::<_, sea_orm::DbErr>(GetHeadResponse {
                head_sequence: sequence,
                head_time: at.map(timestamp),
                feed_epoch: epoch,
            })
        }
        .await
        .map_err(db_error);
        respond(head)
    }
}
