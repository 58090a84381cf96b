//! Which replica of a consumer applies the feeds: a lease row in the
//! consumer's database, taken when free or expired, renewed while held, and
//! checked (locked) inside every transaction that writes the projection.
//!
//! The check is the fence: a leader that was paused past its lease finds
//! another holder (or a newer epoch) in that same transaction and writes
//! nothing; a take-over waits for a batch holding the row lock to end.
//! Times are the database's clock, so replicas' clocks do not matter.
//!
//! On SQLite (the local default: one process, one file) there is nothing to
//! share: the replica always leads and the lease writes nothing.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Value};
use sea_orm_migration::prelude::*;

use crate::db::schema::{big_integer, drop_table, table, text};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::sql::statement;

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(5);
/// How often the holder renews it and the others try to take it.
pub const RENEW: Duration = Duration::from_secs(1);

/// This replica's view of the lease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leadership {
    /// Whether this replica holds the lease now.
    pub leader: bool,
    /// The epoch of the lease this replica holds (bumped at each take-over).
    pub epoch: i64,
    /// Who holds a live lease, as last read ("" when none or unknown).
    pub holder: String,
}

/// One named lease, contended by replicas that each call themselves `me`.
#[derive(Debug, Clone)]
pub struct Lease {
    db: DatabaseConnection,
    name: String,
    me: String,
    state: watch::Sender<Leadership>,
}

/// The database's clock in milliseconds since the Unix epoch.
fn now_ms(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        _ => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

impl Lease {
    /// `me` names this replica (pod name and a random suffix).
    pub fn new(db: DatabaseConnection, name: &str, me: &str) -> Self {
        Self {
            db,
            name: name.to_owned(),
            me: me.to_owned(),
            state: watch::Sender::new(Leadership::default()),
        }
    }

    pub fn holder_name(&self) -> &str {
        &self.me
    }

    pub fn watch(&self) -> watch::Receiver<Leadership> {
        self.state.subscribe()
    }

    /// Takes or renews the lease once; what this replica now is.
    pub async fn try_acquire(&self) -> Result<Leadership, DbErr> {
        let backend = self.db.get_database_backend();
        if backend != DbBackend::Postgres {
            return Ok(self.solo());
        }
        let run = |sql: String, values: Vec<Value>| {
            self.db.execute_raw(statement(&self.db, &sql, values))
        };
        run(
            "INSERT INTO feed_leases (name, holder, epoch, expires_at_ms) VALUES (?, '', 0, 0) \
             ON CONFLICT (name) DO NOTHING"
                .to_owned(),
            vec![Value::from(self.name.as_str())],
        )
        .await?;
        let now = now_ms(backend);
        let ttl = TTL.as_millis() as i64;
        run(
            format!(
                "UPDATE feed_leases SET \
                 epoch = CASE WHEN holder = ? THEN epoch ELSE epoch + 1 END, \
                 holder = ?, expires_at_ms = {now} + ? \
                 WHERE name = ? AND (holder = ? OR expires_at_ms < {now})"
            ),
            vec![
                Value::from(self.me.as_str()),
                Value::from(self.me.as_str()),
                Value::from(ttl),
                Value::from(self.name.as_str()),
                Value::from(self.me.as_str()),
            ],
        )
        .await?;
        let row = self
            .db
            .query_one_raw(statement(&self.db, &format!(
                        "SELECT holder, epoch, CASE WHEN expires_at_ms > {now} THEN 1 ELSE 0 END AS live \
                         FROM feed_leases WHERE name = ?"
                    ), [Value::from(self.name.as_str())]))
            .await?;
        let Some(row) = row else {
            return Ok(Leadership::default());
        };
        let holder: String = row.try_get("", "holder")?;
        let live: i32 = row.try_get("", "live")?;
        Ok(Leadership {
            leader: holder == self.me && live == 1,
            epoch: row.try_get("", "epoch")?,
            holder: if live == 1 { holder } else { String::new() },
        })
    }

    /// The only replica there can be.
    fn solo(&self) -> Leadership {
        Leadership {
            leader: true,
            epoch: 0,
            holder: self.me.clone(),
        }
    }

    /// Inside a writing transaction: whether this replica still holds the
    /// lease it was given, locking the row until the transaction ends.
    pub async fn confirm<C: ConnectionTrait>(&self, txn: &C, epoch: i64) -> Result<bool, DbErr> {
        let backend = txn.get_database_backend();
        if backend != DbBackend::Postgres {
            return Ok(true);
        }
        let lock = if backend == DbBackend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let now = now_ms(backend);
        let row = txn
            .query_one_raw(statement(
                txn,
                &format!(
                    "SELECT epoch FROM feed_leases WHERE name = ? AND holder = ? AND epoch = ? \
                         AND expires_at_ms > {now}{lock}"
                ),
                [
                    Value::from(self.name.as_str()),
                    Value::from(self.me.as_str()),
                    Value::from(epoch),
                ],
            ))
            .await?;
        Ok(row.is_some())
    }

    /// Contends for the lease every `RENEW` until `shutdown`, publishing
    /// this replica's role; gives it up on the way out so a successor need
    /// not wait for it to expire.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(RENEW);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let started = tokio::time::Instant::now();
            let next = match self.try_acquire().await {
                // A renewal that took longer than the lease is not trusted.
                Ok(l) if started.elapsed() < TTL / 2 => l,
                Ok(l) => Leadership { leader: false, ..l },
                Err(err) => {
                    tracing::warn!(lease = %self.name, %err, "lease not renewed");
                    Leadership {
                        leader: false,
                        ..self.state.borrow().clone()
                    }
                }
            };
            let was = self.state.borrow().leader;
            if was != next.leader {
                tracing::info!(lease = %self.name, leader = next.leader, epoch = next.epoch, holder = %next.holder, "lease role changed");
            }
            self.state.send_if_modified(|s| {
                let changed = *s != next;
                *s = next;
                changed
            });
        }
        let backend = self.db.get_database_backend();
        if self.state.borrow().leader && backend == DbBackend::Postgres {
            let released = self
                .db
                .execute_raw(statement(
                    &self.db,
                    "UPDATE feed_leases SET expires_at_ms = 0 WHERE name = ? AND holder = ?",
                    [
                        Value::from(self.name.as_str()),
                        Value::from(self.me.as_str()),
                    ],
                ))
                .await;
            if let Err(err) = released {
                tracing::warn!(lease = %self.name, %err, "lease not released");
            }
        }
    }
}

/// The `feed_leases` table, listed by a consumer among its migrations.
#[derive(Debug)]
pub struct CreateFeedLeases;

impl MigrationName for CreateFeedLeases {
    fn name(&self) -> &str {
        "m20261130_000007_create_feed_leases"
    }
}

#[derive(DeriveIden)]
enum FeedLeases {
    Table,
    Name,
    Holder,
    Epoch,
    ExpiresAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFeedLeases {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let leases = table(FeedLeases::Table)
            .col(text(FeedLeases::Name, 32).primary_key())
            .col(text(FeedLeases::Holder, 200))
            .col(big_integer(FeedLeases::Epoch))
            .col(big_integer(FeedLeases::ExpiresAtMs))
            .to_owned();
        manager.create_table(leases).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, FeedLeases::Table).await
    }
}
