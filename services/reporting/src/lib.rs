//! Academy's reporting service: follows the course and learner change feeds
//! into its own projections and answers sponsor reports from an in-memory
//! model of them.
//!
//! From the proto to the code: `api.rs` (tonic) → `rpc/reports.rs` (one
//! function per report: validation, scope; `rpc/export.rs` streams their
//! answers as CSV) → `figures/<report>.rs` (the figures, read from
//! `engine::Model`). Events reach the tables through `projection/` (one
//! function per event family, applied by the shared
//! `academy_runtime::feed::Follower`) and the model through `engine/`
//! (`load.rs` reads the tables at start, `model.rs` applies each committed
//! batch). `rebuild.rs` builds and swaps generations; `health.rs` says when
//! a replica has caught up; the lease that picks the writing replica is
//! `academy_runtime::feed::lease`. `publish/` freezes a period's figures
//! into append-only snapshots (PublishReport and friends); its writes, and
//! the rebuild's, go through `academy_runtime::write::UnitOfWork` (begun
//! without a feed: reporting has none of its own, only audit entries).
//! `access.rs` reads a caller's data scope (programs, regions,
//! organisations) and `suppress.rs` withholds small counts below the
//! minimum cell size.

pub mod access;
pub mod api;
pub mod config;
pub mod convert;
pub mod engine;
pub mod figures;
pub mod health;
pub mod migration;
pub mod projection;
pub mod publish;
pub mod rebuild;
pub mod rpc;
pub mod scopes;
pub mod suppress;

use academy_proto::reporting::reporting_service_server;
use academy_runtime::auth::ClientToken;
use academy_runtime::cli::Cli;
use academy_runtime::feed::Follower;
use academy_runtime::feed::lease::Lease;
use academy_runtime::server::{self, Services};
use academy_runtime::{ServerConfig, ServiceIdentity, db};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::ReportingSettings;
pub use migration::Migrator;

pub const SERVICE: ServiceIdentity = ServiceIdentity {
    name: "reporting",
    default_listen: "127.0.0.1:50053",
};

/// Entry point of the `academy-reporting` binary.
pub async fn main(cli: Cli<ReportingSettings>) -> anyhow::Result<()> {
    let (config, settings) = (cli.server, cli.extra);
    academy_runtime::cli::run::<Migrator, _, _>(
        SERVICE,
        cli.command,
        &config,
        |listener, db, shutdown| serve(&config, &settings, listener, db, shutdown),
    )
    .await
}

/// Serves reports on `listener` and follows both feeds until `shutdown`.
pub async fn serve(
    config: &ServerConfig,
    settings: &ReportingSettings,
    listener: TcpListener,
    db: DatabaseConnection,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    db::migrate_at_start::<Migrator>(config.migrate, &db).await?;
    let started = std::time::Instant::now();
    let engine = engine::Engine::new(engine::load::load(&db).await?);
    tracing::info!(elapsed = ?started.elapsed(), "report model loaded from the projections");
    let projector = Arc::new(projection::Projector::new(engine.clone()));
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let lease = Lease::new(db.clone(), "reporting", &replica_name());
    let token = ClientToken::from_config(&config.auth, "service:reporting", scopes::CALLS_TO_FEEDS);
    // The generation served, for followers stopped on a diverged producer
    // (they resume after a rebuild); filled once the rebuilder exists.
    let (served_tx, served) = tokio::sync::watch::channel(0i64);
    let mut sources = Vec::new();
    let mut followers = Vec::new();
    for (source, url) in [
        ("course", &settings.course_endpoint),
        ("learner", &settings.learner_endpoint),
    ] {
        // New connections (after a producer restart, a network blip) use
        // the certificate files as they are then: renewed ones included.
        let channel = academy_runtime::tls::client::channel(&config.tls, url, |e| e)?;
        let follower_channel = academy_runtime::tls::client::channel(&config.tls, url, |e| {
            e.connect_timeout(academy_runtime::feed::follower::CONNECT_TIMEOUT)
        })?;
        sources.push(rebuild::Source {
            name: source.to_owned(),
            client: academy_proto::events::event_feed_client::EventFeedClient::new(channel),
            token: token.clone(),
        });
        followers.push(
            Follower::on_channel(source, follower_channel, db.clone(), projector.clone())
                .with_gate(gate.clone())
                .with_lease(lease.clone())
                .with_token(token.clone())
                .with_rebuilds(served.clone()),
        );
    }
    let feeds: Vec<_> = followers.iter().map(Follower::state).collect();
    let publisher = publish::Publisher::new(db.clone(), engine.clone());
    let rebuilder = rebuild::Rebuilder::new(
        db.clone(),
        engine.clone(),
        projector,
        gate,
        lease.clone(),
        sources,
    );
    let mut generations = rebuilder.state();
    tokio::spawn(async move {
        loop {
            let now = generations.borrow_and_update().served;
            served_tx.send_if_modified(|v| std::mem::replace(v, now) != now);
            if generations.changed().await.is_err() {
                return;
            }
        }
    });
    let mut background: Vec<_> = followers
        .into_iter()
        .map(|follower| tokio::spawn(follower.run(shutdown.clone())))
        .collect();
    background.push(tokio::spawn(lease.run(shutdown.clone())));
    background.push(tokio::spawn(rebuilder.clone().run(shutdown.clone())));
    let mut services = Services::new();
    for feed in &feeds {
        // A feed that stopped on an event it cannot understand is NOT_SERVING.
        let (up, rx) = tokio::sync::watch::channel(true);
        let mut state = feed.clone();
        let name = format!("academy.reporting.v1.feed.{}", state.borrow().source);
        tokio::spawn(async move {
            while state.changed().await.is_ok() {
                let serving = !state.borrow().stopped;
                record_lag(&state.borrow());
                up.send_if_modified(|v| {
                    let changed = *v != serving;
                    *v = serving;
                    changed
                });
            }
        });
        services.health_check(name, rx);
    }
    services.health_check(health::CAUGHT_UP, health::caught_up(feeds.clone()));
    services
        .add(
            api::ReportingApi::new(engine, feeds, rebuilder, publisher)
                .with_min_cell_size(settings.min_cell_size)
                .into_server(config.max_message_bytes),
        )
        .authorize(
            reporting_service_server::SERVICE_NAME,
            scopes::REPORTING_SERVICE,
        );
    let served = server::serve(config, listener, db, services, shutdown).await;
    // The followers stop on the same signal; wait for them (briefly), so a
    // batch in hand is committed and their spans end before the exporter
    // is flushed.
    let stopped = async {
        for task in background {
            let _ = task.await;
        }
    };
    if tokio::time::timeout(FOLLOWERS_STOP, stopped).await.is_err() {
        tracing::warn!(wait = ?FOLLOWERS_STOP, "feed followers did not stop in time");
    }
    served
}

/// This replica's name in the lease: the pod's host name and a random
/// suffix (two processes on one host are two replicas).
fn replica_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "reporting".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", &suffix[..8])
}

/// How long shutdown waits for the feed followers to stop.
const FOLLOWERS_STOP: std::time::Duration = std::time::Duration::from_secs(5);
/// Feed lag as Prometheus gauges, per followed source.
fn record_lag(feed: &academy_runtime::feed::FeedState) {
    let source = feed.source.clone();
    let behind = (feed.head_sequence - feed.applied_sequence).max(0);
    metrics::gauge!("reporting_feed_lag_events", "source" => source.clone()).set(behind as f64);
    metrics::gauge!("reporting_feed_lag_seconds", "source" => source.clone())
        .set(feed.lag_seconds());
    metrics::gauge!("reporting_feed_applied_sequence", "source" => source.clone())
        .set(feed.applied_sequence as f64);
    // Alerts look at these, not at the lag alone: a disconnected feed's lag
    // only moves when its head is asked for again.
    metrics::gauge!("reporting_feed_connected", "source" => source.clone())
        .set(f64::from(u8::from(feed.connected)));
    metrics::gauge!("reporting_feed_stopped", "source" => source)
        .set(f64::from(u8::from(feed.stopped)));
}
