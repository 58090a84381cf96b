//! RebuildProjections: a new generation of the projections, built beside
//! the one being served, and switched to at once by every replica.
//!
//! 1. The RPC (on any replica) records the request: `requested_generation`
//!    goes up by one, with its audit entry.
//! 2. The leader (the lease holder) builds it in ONE transaction: empty the
//!    tables and cursors, replay both feeds from sequence 0 up to their heads
//!    at the start, mark `current_generation`. A replica that loads the tables
//!    meanwhile sees the old generation or the new, never a mix; the leader's
//!    followers wait (the gate) and carry on from the new cursors after.
//! 3. Every replica notices the new `current_generation`, loads it into a
//!    fresh model while answering from the old one, and swaps them at once.

use academy_domain::DomainError;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_proto::events::{Event, GetHeadRequest, SubscribeRequest};
use academy_runtime::auth::ClientToken;
use academy_runtime::db::db_error;
use academy_runtime::feed::lease::{Leadership, Lease};
use academy_runtime::feed::{ApplyError, Projection, cursor};
use academy_runtime::write::UnitOfWork;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{RwLock, watch};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::engine::{Engine, load};
use crate::projection::{self, Projector};

/// How often each replica looks for a new generation (and the leader for a
/// request to build one).
const POLL: Duration = Duration::from_secs(1);
/// After a failed build, how long before the leader tries again.
const RETRY: Duration = Duration::from_secs(30);
/// Events applied per statement batch during a replay.
const BATCH: usize = 500;

/// What GetFeedStatus says about generations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerationState {
    /// The generation this replica answers from.
    pub served: i64,
    /// The newest generation asked for.
    pub requested: i64,
}

/// A producer's feed, for a replay.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub client: EventFeedClient<Channel>,
    pub token: ClientToken,
}

/// Records rebuild requests, builds them (leader) and swaps them in (all).
#[derive(Debug, Clone)]
pub struct Rebuilder {
    db: DatabaseConnection,
    engine: Engine,
    projector: Arc<Projector>,
    gate: Arc<RwLock<()>>,
    lease: Lease,
    sources: Vec<Source>,
    state: Arc<watch::Sender<GenerationState>>,
}

/// The stored generation row: (current, requested).
async fn generations<C: ConnectionTrait>(db: &C) -> Result<(i64, i64), DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT current_generation, requested_generation FROM r_generation WHERE id = 1",
        ))
        .await?;
    match row {
        Some(row) => Ok((
            row.try_get("", "current_generation")?,
            row.try_get("", "requested_generation")?,
        )),
        None => Ok((0, 0)),
    }
}

impl Rebuilder {
    pub fn new(
        db: DatabaseConnection,
        engine: Engine,
        projector: Arc<Projector>,
        gate: Arc<RwLock<()>>,
        lease: Lease,
        sources: Vec<Source>,
    ) -> Self {
        let served = engine.generation();
        Self {
            db,
            engine,
            projector,
            gate,
            lease,
            sources,
            state: Arc::new(watch::Sender::new(GenerationState {
                served,
                requested: served,
            })),
        }
    }

    pub fn state(&self) -> watch::Receiver<GenerationState> {
        self.state.subscribe()
    }

    pub fn leadership(&self) -> watch::Receiver<Leadership> {
        self.lease.watch()
    }

    pub fn replica(&self) -> &str {
        self.lease.holder_name()
    }

    /// Asks for a new generation; the number it will have.
    pub async fn request(&self) -> Result<i64, DomainError> {
        let uow = UnitOfWork::begin_without_feed(&self.db)
            .await
            .map_err(db_error)?;
        uow.txn()
            .execute_unprepared(
                "UPDATE r_generation SET requested_generation = requested_generation + 1 WHERE id = 1",
            )
            .await
            .map_err(db_error)?;
        let (_, requested) = generations(uow.txn()).await.map_err(db_error)?;
        uow.audit("projections.rebuilt", "")
            .await
            .map_err(db_error)?;
        uow.commit().await.map_err(db_error)?;
        self.state
            .send_modify(|s| s.requested = s.requested.max(requested));
        tracing::warn!(generation = requested, "projection rebuild requested");
        Ok(requested)
    }

    /// Builds requested generations (when leader) and serves new ones,
    /// until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut retry_at = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            let (current, requested) = match generations(&self.db).await {
                Ok(g) => g,
                Err(err) => {
                    tracing::warn!(%err, "generation not read");
                    continue;
                }
            };
            self.state.send_if_modified(|s| {
                let changed = s.requested != requested;
                s.requested = requested;
                changed
            });
            let leader = self.lease.watch().borrow().clone();
            if leader.leader && requested > current && tokio::time::Instant::now() >= retry_at {
                match self.build(requested, leader.epoch).await {
                    Ok(()) => tracing::warn!(generation = requested, "projections rebuilt"),
                    Err(err) => {
                        tracing::error!(generation = requested, %err, "projection rebuild failed; retrying later");
                        retry_at = tokio::time::Instant::now() + RETRY;
                    }
                }
            }
            if let Err(err) = self.serve_newest().await {
                tracing::warn!(%err, "new generation not loaded");
            }
        }
    }

    /// Loads the stored generation when it is newer than the one served.
    async fn serve_newest(&self) -> Result<(), DbErr> {
        let (current, _) = generations(&self.db).await?;
        if current <= self.engine.generation() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let model = load::load(&self.db).await?;
        let generation = model.generation;
        self.engine.replace(model);
        self.state.send_modify(|s| s.served = generation);
        tracing::warn!(generation, elapsed = ?started.elapsed(), "serving a new generation of the projections");
        Ok(())
    }

    /// Replays both feeds into emptied tables, all in one transaction.
    async fn build(&self, generation: i64, epoch: i64) -> Result<(), anyhow::Error> {
        if !self.lease.watch().borrow().leader {
            anyhow::bail!("not the leader any more");
        }
        let _exclusive = self.gate.write().await;
        let uow = UnitOfWork::begin_without_feed(&self.db).await?;
        let txn = uow.txn();
        // The lease row is checked (and locked) only just before the commit:
        // held through a long replay, the lock would stop this replica's own
        // renewals and the lease would lapse under it.
        projection::clear(txn).await?;
        for source in &self.sources {
            let (head, applied) = self.replay(txn, source).await?;
            tracing::info!(source = %source.name, head, applied, "feed replayed");
        }
        txn.execute_unprepared(&format!(
            "UPDATE r_generation SET current_generation = {generation} WHERE id = 1"
        ))
        .await?;
        if !self.lease.confirm(txn, epoch).await? {
            anyhow::bail!("the lease was lost during the rebuild; nothing written");
        }
        uow.commit().await?;
        Ok(())
    }

    /// Applies `source`'s events from sequence 0 up to its head now; the
    /// head and how many events were applied.
    async fn replay(
        &self,
        txn: &DatabaseTransaction,
        source: &Source,
    ) -> Result<(i64, i64), anyhow::Error> {
        let mut client = source.client.clone();
        let mut ask = tonic::Request::new(GetHeadRequest {});
        source.token.apply(ask.metadata_mut());
        let reply = client.get_head(ask).await?.into_inner();
        let head = reply.head_sequence;
        if head == 0 {
            return Ok((0, 0));
        }
        let mut ask = tonic::Request::new(SubscribeRequest { after_sequence: 0 });
        source.token.apply(ask.metadata_mut());
        let mut stream = client.subscribe(ask).await?.into_inner();
        let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
        let mut applied = 0i64;
        let mut last = 0i64;
        while last < head {
            let Some(event) = stream.message().await? else {
                anyhow::bail!(
                    "the {} feed ended at {last} before its head {head}",
                    source.name
                );
            };
            if event.sequence != last + 1 {
                anyhow::bail!("gap in the {} feed at {}", source.name, event.sequence);
            }
            last = event.sequence;
            batch.push(event);
            if batch.len() == BATCH || last >= head {
                let refs: Vec<&Event> = batch.iter().collect();
                match self.projector.apply_all(txn, &source.name, &refs).await {
                    Ok(()) => {}
                    Err(ApplyError::NotUnderstood { sequence, kind }) => {
                        anyhow::bail!(
                            "event {sequence} ({kind}) of {} is not understood",
                            source.name
                        )
                    }
                    Err(ApplyError::Db(err)) => return Err(err.into()),
                }
                applied += refs.len() as i64;
                batch.clear();
            }
        }
        cursor::store(txn, &source.name, last, None).await?;
        // The history just replayed is the producer's current one: a feed
        // stopped on a changed epoch resumes from here.
        academy_runtime::feed::epoch::record(txn, &source.name, &reply.feed_epoch).await?;
        Ok((head, applied))
    }
}
