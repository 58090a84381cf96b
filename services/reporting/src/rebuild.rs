//! Dropping the projections and replaying both feeds from sequence 0.
//!
//! The followers apply each batch under a read guard of the shared gate; a
//! rebuild takes the write guard, so it never interleaves with a batch. It
//! then bumps the reset generation: each follower resubscribes from its
//! (now empty) cursor, and the rebuild returns once all have done so, so
//! GetFeedStatus shows the replay from then on.

use academy_domain::DomainError;
use academy_runtime::db::{begin_write, db_error};
use academy_runtime::feed::FeedState;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{RwLock, watch};

use crate::engine::Engine;
use crate::projection;

/// How long a rebuild waits for the followers to restart their replay.
const RESTART_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Rebuilder {
    db: DatabaseConnection,
    engine: Engine,
    gate: Arc<RwLock<()>>,
    resets: Arc<watch::Sender<u64>>,
    feeds: Vec<watch::Receiver<FeedState>>,
}

impl Rebuilder {
    pub fn new(
        db: DatabaseConnection,
        engine: Engine,
        gate: Arc<RwLock<()>>,
        resets: Arc<watch::Sender<u64>>,
        feeds: Vec<watch::Receiver<FeedState>>,
    ) -> Self {
        Self {
            db,
            engine,
            gate,
            resets,
            feeds,
        }
    }

    pub async fn rebuild(&self) -> Result<(), DomainError> {
        {
            let _exclusive = self.gate.write().await;
            let txn = begin_write(&self.db).await.map_err(db_error)?;
            projection::clear(&txn).await.map_err(db_error)?;
            let change = academy_runtime::audit::Change {
                action: "projections.rebuilt".to_owned(),
                resource_id: String::new(),
                count: 1,
                first_sequence: 0,
                last_sequence: 0,
            };
            academy_runtime::audit::record(&txn, change)
                .await
                .map_err(db_error)?;
            txn.commit().await.map_err(db_error)?;
            self.engine.replace(crate::engine::Model::default());
        }
        self.resets.send_modify(|g| *g += 1);
        let generation = *self.resets.borrow();
        tracing::warn!(
            generation,
            "projections dropped; replaying both feeds from sequence 0"
        );
        for feed in &self.feeds {
            let mut feed = feed.clone();
            let restarted = tokio::time::timeout(
                RESTART_WAIT,
                feed.wait_for(|s| s.generation >= generation || s.stopped),
            );
            if !matches!(restarted.await, Ok(Ok(_))) {
                return Err(DomainError::Unavailable {
                    what: "change feed",
                });
            }
        }
        Ok(())
    }
}
