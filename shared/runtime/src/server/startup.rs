//! What a serving binary does before it serves: wait for the database and
//! for a schema that matches the binary, answering health checks all the
//! while (issue #20, items 4 and 5).
//!
//! A binary started while the database is down does not exit (which would
//! turn a database outage into a crash loop that outlasts it): it connects
//! lazily and retries, NOT_SERVING, with [`LIVENESS`] SERVING so the kubelet
//! leaves it alone. With `ACADEMY_MIGRATE=off` it also stays NOT_SERVING
//! until every migration the binary knows is applied: new pods never go
//! Ready on the old schema, whatever order a GitOps tool applies things in.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::{MigrateMode, ServerConfig};

/// The health name liveness probes ask for: SERVING while the process runs
/// (until shutdown), whatever the database does.
pub const LIVENESS: &str = "liveness";

/// Longest pause between two attempts while waiting.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long the waiting health server has to let its probes finish.
const HANDOVER: Duration = Duration::from_secs(2);

/// Why the binary is not ready yet.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("database unreachable: {0}")]
    Database(String),
    #[error("schema behind the binary: {} migration(s) not applied (first: {first})", .count)]
    Schema { count: usize, first: String },
}

/// The binary's migrations the database has not applied, in order.
pub async fn pending<M: MigratorTrait>(db: &DatabaseConnection) -> Result<Vec<String>, NotReady> {
    db.ping()
        .await
        .map_err(|err| NotReady::Database(err.to_string()))?;
    let table = M::migration_table_name().to_string();
    let query = Statement::from_string(
        db.get_database_backend(),
        format!("SELECT version FROM {table}"),
    );
    // The database answers pings, so a failing query means no migration
    // table yet: nothing is applied.
    let applied: HashSet<String> = match db.query_all_raw(query).await {
        Ok(rows) => rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", "version").ok())
            .collect(),
        Err(_) => HashSet::new(),
    };
    Ok(M::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect())
}

/// One attempt at readiness: migrate (`auto`) or check that nothing is
/// pending (`off`).
pub async fn ready<M: MigratorTrait>(
    db: &DatabaseConnection,
    mode: MigrateMode,
) -> Result<(), NotReady> {
    if mode == MigrateMode::Auto {
        db.ping()
            .await
            .map_err(|err| NotReady::Database(err.to_string()))?;
        // A migration that fails on a reachable database is not retried
        // into success; it is still reported, and retried, loudly.
        crate::db::migrate::<M>(db)
            .await
            .map_err(|err| NotReady::Database(format!("migration failed: {err:#}")))?;
        return Ok(());
    }
    let pending = pending::<M>(db).await?;
    match pending.first() {
        None => Ok(()),
        Some(first) => Err(NotReady::Schema {
            count: pending.len(),
            first: first.clone(),
        }),
    }
}

/// How long the first look at the database may take before the binary
/// starts answering health checks while it waits.
const FIRST_LOOK: Duration = Duration::from_secs(2);

/// One quick attempt at readiness, before anything listens: true when the
/// database answered within [`FIRST_LOOK`] and [`ready`] succeeded.
pub async fn ready_now<M: MigratorTrait>(db: &DatabaseConnection, mode: MigrateMode) -> bool {
    if !matches!(
        tokio::time::timeout(FIRST_LOOK, db.ping()).await,
        Ok(Ok(()))
    ) {
        return false;
    }
    match ready::<M>(db, mode).await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(%err, "not ready: NOT_SERVING");
            false
        }
    }
}

/// Retries [`ready`] with a growing pause until it succeeds (`true`) or
/// `shutdown` is cancelled (`false`).
pub async fn wait_ready<M: MigratorTrait>(
    db: &DatabaseConnection,
    mode: MigrateMode,
    shutdown: &CancellationToken,
) -> bool {
    let mut pause = Duration::from_millis(250);
    loop {
        match ready::<M>(db, mode).await {
            Ok(()) => return true,
            Err(err) => tracing::warn!(%err, retry_in = ?pause, "not ready: NOT_SERVING"),
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.cancelled() => return false,
        }
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}

/// Answers `grpc.health.v1` on `listener` (or on the plaintext health port
/// when configured) while `until` runs: the server and every name
/// NOT_SERVING, [`LIVENESS`] SERVING. Returns what `until` returns, once the
/// health server has let go of the listener.
pub async fn answer_health_while<T>(
    config: &ServerConfig,
    listener: &TcpListener,
    until: impl Future<Output = T>,
) -> anyhow::Result<T> {
    let (health, service) = tonic_health::server::health_reporter();
    not_serving(&health).await;
    let separate =
        match config.tls.health_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|err| {
                anyhow::anyhow!("cannot listen for health checks on {addr}: {err}")
            })?),
            None => None,
        };
    let mut builder = Server::builder();
    if separate.is_none()
        && let Some(tls) = config.tls.server()?
    {
        builder = builder.tls_config(tls)?;
    }
    let probes = separate.as_ref().unwrap_or(listener);
    let incoming = futures::stream::unfold(probes, |listener| async move {
        Some((listener.accept().await.map(|(stream, _)| stream), listener))
    });
    let stop = CancellationToken::new();
    // Every other call answers UNAVAILABLE (retryable), as when the port
    // is closed, not UNIMPLEMENTED: clients retry into the real server.
    let (_never_up, refuse_others) = crate::server::gate::database_gate();
    let server = builder
        .layer(crate::server::middleware::Layered(refuse_others))
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    tokio::pin!(server);
    let outcome = tokio::select! {
        outcome = until => outcome,
        served = &mut server => {
            served?;
            anyhow::bail!("the health server stopped before the binary was ready");
        }
    };
    stop.cancel();
    // Probes are short calls; a Watch stream is not waited for.
    let _ = tokio::time::timeout(HANDOVER, server).await;
    Ok(outcome)
}

async fn not_serving(health: &HealthReporter) {
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    health
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;
}
