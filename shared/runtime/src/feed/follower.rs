//! The change-feed consumer: follows one producer's `EventFeed` over gRPC,
//! applies each event to a projection and moves its cursor in the same
//! transaction. Delivery is at-least-once; the effect is exactly-once,
//! because an event at or below the stored cursor is skipped.
//!
//! A producer that goes away is retried with exponential backoff; after its
//! own restart the follower resumes from the stored cursor. An event the
//! projection cannot understand stops this feed loudly (error log with the
//! sequence, `stopped` in the state) instead of being skipped. So does a
//! producer whose feed epoch changed or whose head fell below the cursor
//! ([`super::epoch`]); that feed resumes by itself once RebuildProjections
//! has replayed it as it now is.

use crate::auth::ClientToken;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_proto::events::{Event, GetHeadRequest, SubscribeRequest};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{RwLock, watch};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

use super::cursor;
use super::lease::{Leadership, Lease};
use crate::db::begin_write;
use crate::time::parse_timestamp;

/// Events applied per transaction at most, when they arrive faster than
/// they are applied (catching up on a backlog).
const BATCH: usize = 500;
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often the producer's head is asked for, to measure lag.
const HEAD_REFRESH: Duration = Duration::from_secs(2);
/// How often a feed stopped on a diverged producer looks whether a rebuild
/// has caught up with the producer's new history.
const DIVERGED_RECHECK: Duration = Duration::from_secs(2);

/// What a follower does with each event, inside the transaction that also
/// stores the cursor. Return `NotUnderstood` before writing anything: the
/// events before it in the same transaction are kept.
#[async_trait::async_trait]
pub trait Projection: Send + Sync + 'static {
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        source: &str,
        event: &Event,
    ) -> Result<(), ApplyError>;

    /// Applies consecutive events in order. On `NotUnderstood { sequence }`
    /// every event before that sequence must have been applied and none
    /// after. The default applies one at a time; a projection overrides it
    /// to write runs of events with fewer statements (catching up on a
    /// backlog is bound by statement round trips).
    async fn apply_all(
        &self,
        txn: &DatabaseTransaction,
        source: &str,
        events: &[&Event],
    ) -> Result<(), ApplyError> {
        for event in events {
            self.apply(txn, source, event).await?;
        }
        Ok(())
    }

    /// Called after the transaction that applied `events` committed, with
    /// exactly those events: a projection that keeps a copy in memory moves
    /// it here, so the copy never shows what the database may still undo.
    fn committed(&self, _source: &str, _events: &[&Event]) {}

    /// The last sequence of `source` the in-memory copy reflects, for a
    /// projection that keeps one: a replica that does not hold the lease
    /// follows into memory only, from there.
    fn memory_position(&self, _source: &str) -> Option<i64> {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event's type or payload is unknown to this projection.
    #[error("event {sequence} of type {kind:?} is not understood")]
    NotUnderstood { sequence: i64, kind: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// How far a follower has got, for freshness reports and health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedState {
    pub source: String,
    /// The last event this replica's answers reflect (its memory copy's
    /// position when the projection keeps one, else the tables' cursor).
    pub applied_sequence: i64,
    pub applied_record_time: Option<DateTime<Utc>>,
    pub head_sequence: i64,
    pub head_time: Option<DateTime<Utc>>,
    pub connected: bool,
    /// Set when an event could not be understood: the feed is halted.
    pub stopped: bool,
    pub last_error: String,
    /// The last projection reset this follower has acted on.
    pub generation: u64,
}

impl FeedState {
    /// Seconds between the newest produced event and the newest applied one.
    pub fn lag_seconds(&self) -> f64 {
        if self.applied_sequence >= self.head_sequence {
            return 0.0;
        }
        match (self.head_time, self.applied_record_time) {
            (Some(head), Some(applied)) => {
                (head - applied).num_milliseconds().max(0) as f64 / 1000.0
            }
            (Some(head), None) => (Utc::now() - head).num_milliseconds().max(0) as f64 / 1000.0,
            _ => 0.0,
        }
    }
}

/// Why one connection to the producer ended.
enum Ended {
    /// Shutdown was requested.
    Shutdown,
    /// Worth retrying: the producer went away, the database blinked.
    Transient(String),
    /// Not worth retrying: an event cannot be understood.
    Stopped(String),
    /// Subscribe again at once: this replica's role changed.
    Restart(String),
    /// The producer's history is not the one the cursor was taken from
    /// (epoch changed, head below the cursor): halted until a rebuild.
    Diverged(String),
}

/// Follows one producer's feed into one projection.
pub struct Follower {
    source: String,
    client: EventFeedClient<Channel>,
    db: DatabaseConnection,
    projection: Arc<dyn Projection>,
    state: watch::Sender<FeedState>,
    /// Held shared while a batch is applied; whoever resets the projection
    /// holds it exclusively.
    gate: Arc<RwLock<()>>,
    /// Bumped when the projection was reset: resubscribe from the cursor.
    resets: Option<watch::Receiver<u64>>,
    /// This consumer's own token for the producer.
    token: ClientToken,
    /// When replicas share the database: only the lease holder writes it.
    lease: Option<Lease>,
    /// The producer epoch recorded with the cursor ("" before the first).
    epoch: String,
    /// Changes when a projection rebuild has been served: a feed stopped on
    /// a diverged producer resumes only after one.
    rebuilds: Option<watch::Receiver<i64>>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// How long a follower waits for a connection to its producer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Follower {
    /// `source` names the producer in cursors and reports (`course`, `learner`);
    /// `endpoint` is where it serves (TLS already configured, if any).
    pub fn new(
        source: &str,
        endpoint: Endpoint,
        db: DatabaseConnection,
        projection: Arc<dyn Projection>,
    ) -> Self {
        let channel = endpoint.connect_timeout(CONNECT_TIMEOUT).connect_lazy();
        Self::on_channel(source, channel, db, projection)
    }

    /// Like [`Follower::new`], over a channel made elsewhere (e.g. by
    /// `tls_client::channel`, whose connections pick up renewed
    /// certificates); give it a connect timeout of [`CONNECT_TIMEOUT`].
    pub fn on_channel(
        source: &str,
        channel: Channel,
        db: DatabaseConnection,
        projection: Arc<dyn Projection>,
    ) -> Self {
        let state = FeedState {
            source: source.to_owned(),
            ..Default::default()
        };
        Self {
            source: source.to_owned(),
            client: EventFeedClient::new(channel),
            db,
            projection,
            state: watch::Sender::new(state),
            gate: Arc::new(RwLock::new(())),
            resets: None,
            token: ClientToken::none(),
            lease: None,
            epoch: String::new(),
            rebuilds: None,
        }
    }

    /// Sends `token` on every call to the producer.
    pub fn with_token(mut self, token: ClientToken) -> Self {
        self.token = token;
        self
    }

    /// Resubscribes from the stored cursor whenever `resets` changes.
    pub fn with_resets(mut self, resets: watch::Receiver<u64>) -> Self {
        self.resets = Some(resets);
        self
    }

    /// Resumes a feed stopped on a diverged producer only after `rebuilds`
    /// changes (a rebuild replayed the producer's new history). Without
    /// it, the producer's epoch and head alone decide.
    pub fn with_rebuilds(mut self, rebuilds: watch::Receiver<i64>) -> Self {
        self.rebuilds = Some(rebuilds);
        self
    }

    /// Writes the projection only while holding `lease`; otherwise follows
    /// into the projection's memory copy alone.
    pub fn with_lease(mut self, lease: Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Shares `gate` with other followers and with a projection reset.
    pub fn with_gate(mut self, gate: Arc<RwLock<()>>) -> Self {
        self.gate = gate;
        self
    }

    /// Watches this follower's progress.
    pub fn state(&self) -> watch::Receiver<FeedState> {
        self.state.subscribe()
    }

    /// Follows until `shutdown` (or until an event cannot be understood).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let applied_before = self.state.borrow().applied_sequence;
            match self.follow_once(&shutdown).await {
                Ended::Shutdown => return,
                Ended::Stopped(reason) => {
                    tracing::error!(source = %self.source, %reason, "feed stopped: fix the projection and restart");
                    self.state.send_modify(|s| {
                        s.stopped = true;
                        s.connected = false;
                        s.last_error = reason;
                    });
                    return;
                }
                Ended::Restart(reason) => {
                    tracing::info!(source = %self.source, %reason, "resubscribing");
                    continue;
                }
                Ended::Diverged(reason) => {
                    tracing::error!(source = %self.source, %reason, "feed stopped: the producer's history changed");
                    metrics::counter!("feed_diverged_total", "source" => self.source.clone())
                        .increment(1);
                    self.state.send_modify(|s| {
                        s.stopped = true;
                        s.connected = false;
                        s.last_error = reason;
                    });
                    if !self.wait_until_rebuilt(&shutdown).await {
                        return;
                    }
                    tracing::warn!(source = %self.source, "feed rebuilt on the producer's new history: following again");
                    self.state.send_modify(|s| {
                        s.stopped = false;
                        s.last_error.clear();
                    });
                    backoff = MIN_BACKOFF;
                    continue;
                }
                Ended::Transient(reason) => {
                    tracing::warn!(source = %self.source, %reason, retry_in = ?backoff, "feed interrupted");
                    self.state.send_modify(|s| {
                        s.connected = false;
                        s.last_error = reason;
                    });
                }
            }
            if self.state.borrow().applied_sequence > applied_before {
                backoff = MIN_BACKOFF;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn follow_once(&mut self, shutdown: &CancellationToken) -> Ended {
        let mut roles = self.lease.as_ref().map(Lease::watch);
        let role = roles
            .as_mut()
            .map(|r| r.borrow_and_update().clone())
            .unwrap_or(Leadership {
                leader: true,
                ..Default::default()
            });
        let memory = self.projection.memory_position(&self.source);
        let cursor = if role.leader {
            let stored = match cursor::load(&self.db, &self.source).await {
                Ok(cursor) => cursor,
                Err(err) => return Ended::Transient(format!("reading the cursor: {err}")),
            };
            self.epoch = match super::epoch::recorded(&self.db, &self.source).await {
                Ok(epoch) => epoch,
                Err(err) => return Ended::Transient(format!("reading the feed epoch: {err}")),
            };
            // The memory copy may be behind the tables (loaded before the
            // last leader's batches) or ahead (followed them as a standby).
            memory.map_or(stored, |m| m.min(stored))
        } else if let Some(m) = memory {
            m
        } else {
            // A standby without a memory copy has nothing to follow into.
            return self.wait_for_role(roles, shutdown).await;
        };
        let generation = self.resets.as_mut().map_or(0, |r| *r.borrow_and_update());
        self.state.send_modify(|s| {
            s.applied_sequence = memory.unwrap_or(cursor);
            s.generation = generation;
        });
        // Before anything is applied: is this still the history the cursor
        // was taken from?
        if let Some(reason) = self.refresh_head().await {
            return Ended::Diverged(reason);
        }
        let mut request = tonic::Request::new(SubscribeRequest {
            after_sequence: cursor,
        });
        self.token.apply(request.metadata_mut());
        // One trace per subscription: the producer's Subscribe span is a
        // child of this one.
        let span =
            tracing::info_span!("feed.subscribe", source = %self.source, after_sequence = cursor);
        crate::observability::trace::TraceContext::of(&span).inject(&mut request);
        let mut stream = match self.client.subscribe(request).await {
            Ok(reply) => reply.into_inner(),
            Err(status) if status.code() == tonic::Code::Unauthenticated => {
                // Our credentials were refused: drop the cached token, so
                // the retry carries a fresh one; loudly, an expired
                // credential stalls the feed.
                self.token.invalidate();
                metrics::counter!("feed_unauthenticated_total", "source" => self.source.clone())
                    .increment(1);
                tracing::error!(source = %self.source, message = status.message(), "the producer refused this service's token");
                return Ended::Transient(format!(
                    "subscribing: credentials refused: {}",
                    status.message()
                ));
            }
            Err(status) => return Ended::Transient(format!("subscribing: {}", status.message())),
        };
        self.state.send_modify(|s| {
            s.connected = true;
            s.last_error.clear();
        });
        let mut head_timer = tokio::time::interval(HEAD_REFRESH);
        let mut resets = self.resets.clone();
        loop {
            let reset = async {
                match resets.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let role_change = async {
                match roles.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ended::Shutdown,
                true = reset => return Ended::Transient("the projection was reset; replaying".into()),
                true = role_change => return Ended::Restart("the lease changed hands".into()),
                _ = head_timer.tick() => if let Some(reason) = self.refresh_head().await {
                    return Ended::Diverged(reason);
                },
                next = stream.message() => {
                    let first = match next {
                        Ok(Some(event)) => event,
                        Ok(None) => return Ended::Transient("the producer ended the stream".into()),
                        Err(status) => return Ended::Transient(format!("receiving: {}", status.message())),
                    };
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match stream.message().now_or_never() {
                            Some(Ok(Some(event))) => batch.push(event),
                            _ => break,
                        }
                    }
                    let applied = if role.leader {
                        self.apply_batch(&batch, role.epoch).await
                    } else {
                        self.apply_in_memory(&batch)
                    };
                    if let Err(ended) = applied {
                        return ended;
                    }
                }
            }
        }
    }

    async fn wait_for_role(
        &self,
        roles: Option<watch::Receiver<Leadership>>,
        shutdown: &CancellationToken,
    ) -> Ended {
        let Some(mut roles) = roles else {
            return Ended::Transient("no lease to wait for".into());
        };
        tokio::select! {
            _ = shutdown.cancelled() => Ended::Shutdown,
            _ = roles.changed() => Ended::Restart("the lease changed hands".into()),
        }
    }

    /// A standby's batch: into the projection's memory copy only.
    fn apply_in_memory(&self, batch: &[Event]) -> Result<(), Ended> {
        let before = self.projection.memory_position(&self.source).unwrap_or(0);
        let fresh: Vec<&Event> = batch.iter().filter(|e| e.sequence > before).collect();
        self.projection.committed(&self.source, &fresh);
        let after = self.projection.memory_position(&self.source).unwrap_or(0);
        let expected = fresh.last().map_or(before, |e| e.sequence);
        let applied_time = batch.iter().find(|e| e.sequence == after).and_then(|e| {
            parse_timestamp("record_time", e.record_time.as_ref())
                .ok()
                .flatten()
        });
        self.state.send_modify(|s| {
            s.applied_sequence = after;
            s.applied_record_time = applied_time.or(s.applied_record_time);
            s.head_sequence = s.head_sequence.max(after);
        });
        if after < expected {
            return Err(Ended::Restart(format!(
                "the memory copy stopped at {after} of {expected}"
            )));
        }
        Ok(())
    }

    /// Asks the producer for its head (for lag); says why the feed cannot
    /// go on when the producer's epoch or head shows another history.
    async fn refresh_head(&self) -> Option<String> {
        let mut request = tonic::Request::new(GetHeadRequest {});
        self.token.apply(request.metadata_mut());
        match self.client.clone().get_head(request).await {
            Ok(reply) => {
                let head = reply.into_inner();
                let applied = self.state.borrow().applied_sequence;
                if let Some(reason) = super::epoch::diverged(
                    &self.epoch,
                    &head.feed_epoch,
                    applied,
                    head.head_sequence,
                ) {
                    return Some(reason);
                }
                let time = parse_timestamp("head_time", head.head_time.as_ref())
                    .ok()
                    .flatten();
                self.state.send_modify(|s| {
                    s.head_sequence = head.head_sequence.max(s.applied_sequence);
                    s.head_time = time;
                });
            }
            Err(status) => {
                tracing::debug!(source = %self.source, message = status.message(), "head unavailable")
            }
        }
        None
    }

    /// While stopped on a diverged producer: waits until the stored cursor
    /// and epoch agree with the producer again (RebuildProjections replayed
    /// the feed as it now is). False on shutdown.
    async fn wait_until_rebuilt(&mut self, shutdown: &CancellationToken) -> bool {
        // A restored database may soon have a head above the cursor again
        // (new events reusing sequences): with a rebuild signal, only a
        // rebuild served after the stop counts.
        let mut rebuilds = self.rebuilds.clone();
        let mut rebuilt = rebuilds.is_none();
        if let Some(rx) = rebuilds.as_mut() {
            rx.borrow_and_update();
        }
        loop {
            let next_rebuild = async {
                match rebuilds.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(DIVERGED_RECHECK) => {}
                true = next_rebuild => rebuilt = true,
                _ = shutdown.cancelled() => return false,
            }
            if !rebuilt {
                continue;
            }
            let (Ok(cursor), Ok(epoch)) = (
                cursor::load(&self.db, &self.source).await,
                super::epoch::recorded(&self.db, &self.source).await,
            ) else {
                continue;
            };
            let mut request = tonic::Request::new(GetHeadRequest {});
            self.token.apply(request.metadata_mut());
            let Ok(head) = self.client.clone().get_head(request).await else {
                continue;
            };
            let head = head.into_inner();
            if super::epoch::diverged(&epoch, &head.feed_epoch, cursor, head.head_sequence)
                .is_none()
            {
                self.epoch = epoch;
                self.state.send_modify(|s| s.applied_sequence = cursor);
                return true;
            }
        }
    }

    /// Applies the events after the stored cursor, in order, and moves the
    /// cursor, all in one transaction. Events at or below the cursor were
    /// applied before (at-least-once delivery) and are skipped.
    async fn apply_batch(&mut self, batch: &[Event], epoch: i64) -> Result<(), Ended> {
        let transient = |err: DbErr| Ended::Transient(format!("applying: {err}"));
        let _shared = self.gate.read().await;
        let txn = begin_write(&self.db).await.map_err(transient)?;
        if let Some(lease) = &self.lease
            && !lease.confirm(&txn, epoch).await.map_err(transient)?
        {
            return Err(Ended::Restart("the lease was lost; writing nothing".into()));
        }
        let mut applied = cursor::load_for_update(&txn, &self.source)
            .await
            .map_err(transient)?;
        let mut fresh = Vec::with_capacity(batch.len());
        // A batch from another history is not applied, not even in part.
        if let Some(other) = batch.iter().find(|e| {
            !e.feed_epoch.is_empty() && !self.epoch.is_empty() && e.feed_epoch != self.epoch
        }) {
            return Err(Ended::Diverged(
                super::epoch::diverged(&self.epoch, &other.feed_epoch, applied, applied)
                    .unwrap_or_default(),
            ));
        }
        let first_epoch = batch
            .iter()
            .find(|e| !e.feed_epoch.is_empty())
            .map(|e| e.feed_epoch.clone());
        for event in batch.iter().filter(|e| e.sequence > applied) {
            let expected = applied + 1 + fresh.len() as i64;
            if event.sequence != expected {
                return Err(Ended::Transient(format!(
                    "gap in the feed: expected {expected} and got {}",
                    event.sequence
                )));
            }
            fresh.push(event);
        }
        let mut stopped = None;
        let applied_up_to = match self.projection.apply_all(&txn, &self.source, &fresh).await {
            Ok(()) => fresh.last().map_or(applied, |e| e.sequence),
            Err(ApplyError::Db(err)) => return Err(transient(err)),
            Err(err @ ApplyError::NotUnderstood { sequence, .. }) => {
                stopped = Some(Ended::Stopped(err.to_string()));
                sequence - 1
            }
        };
        let applied_time = fresh
            .iter()
            .find(|e| e.sequence == applied_up_to)
            .and_then(|e| {
                parse_timestamp("record_time", e.record_time.as_ref())
                    .ok()
                    .flatten()
            });
        applied = applied_up_to.max(applied);
        cursor::store(&txn, &self.source, applied, applied_time)
            .await
            .map_err(transient)?;
        let adopted = match first_epoch {
            Some(epoch) if self.epoch.is_empty() => {
                super::epoch::record(&txn, &self.source, &epoch)
                    .await
                    .map_err(transient)?;
                Some(epoch)
            }
            _ => None,
        };
        txn.commit().await.map_err(transient)?;
        if let Some(epoch) = adopted {
            self.epoch = epoch;
        }
        // Every committed event goes to the memory copy, which skips what it
        // already has (it may have been behind the tables' cursor).
        let kept: Vec<&Event> = batch.iter().filter(|e| e.sequence <= applied).collect();
        self.projection.committed(&self.source, &kept);
        let memory_behind = self
            .projection
            .memory_position(&self.source)
            .is_some_and(|m| m < applied);
        let erased = batch.iter().any(|event| {
            matches!(
                event.payload,
                Some(academy_proto::events::event::Payload::LearnerErased(_))
            )
        });
        if erased {
            crate::db::flush_erased(&self.db).await;
        }
        // What answers reflect: a new leader re-applying to the tables from
        // an older cursor serves its memory copy, already further along, and
        // must not report going back.
        let reflected = self
            .projection
            .memory_position(&self.source)
            .map_or(applied, |m| m.max(applied));
        self.state.send_modify(|s| {
            s.applied_sequence = reflected;
            s.applied_record_time = applied_time.or(s.applied_record_time);
            s.head_sequence = s.head_sequence.max(reflected);
        });
        match stopped {
            Some(ended) => Err(ended),
            None if memory_behind => Err(Ended::Restart(
                "the memory copy is behind the tables; resubscribing from it".into(),
            )),
            None => Ok(()),
        }
    }
}
