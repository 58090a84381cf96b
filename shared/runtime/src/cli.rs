//! The command line every service binary shares: `serve` (the default) and
//! `migrate`, plus the service's own settings.

use crate::config::ServerConfig;
use clap::{Args, Parser, Subcommand};

/// An Academy service. Every flag can also be set by its environment variable.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli<Extra: Args> {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub server: ServerConfig,

    #[command(flatten)]
    pub extra: Extra,
}

/// What to do.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Serve gRPC until SIGTERM or Ctrl-C (the default).
    Serve,
    /// Apply pending database migrations and exit (a Kubernetes Job runs this).
    Migrate,
}

/// For services with no settings of their own.
#[derive(Debug, Clone, Args)]
pub struct NoExtra {}

/// What every service binary's `main` does: set up logging, connect, then
/// either migrate and exit or bind the listen address and serve until a
/// signal. `serve` is the service's own `serve` function.
pub async fn run<M, F, Fut>(
    service: crate::ServiceIdentity,
    command: Option<Command>,
    config: &ServerConfig,
    serve: F,
) -> anyhow::Result<()>
where
    M: sea_orm_migration::MigratorTrait,
    F: FnOnce(
        tokio::net::TcpListener,
        sea_orm::DatabaseConnection,
        tokio_util::sync::CancellationToken,
    ) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let telemetry = crate::observability::telemetry::init(
        &config.log,
        config.log_format,
        &config.otel,
        service.name,
    )?;
    // The exporter is flushed whatever the command's outcome.
    let result: anyhow::Result<()> = async {
        let url = config.database_url(&service);
        match command.unwrap_or(Command::Serve) {
            Command::Migrate => {
                let db = crate::db::connect(&url).await?;
                crate::db::migrate::<M>(&db).await?;
                tracing::info!(service = service.name, "migrations applied");
                Ok(())
            }
            Command::Serve => {
                if let Some(metrics) = config.metrics_listen {
                    crate::observability::metrics::install(
                        metrics,
                        std::time::Duration::from_secs(config.metrics_idle_timeout_secs),
                    )?;
                }
                let addr = config.listen_addr(&service)?;
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|err| anyhow::anyhow!("cannot listen on {addr}: {err}"))?;
                // Lazy: a database that is down now is waited for, below.
                let db = crate::db::connect_lazy(&url, config.db_pool_size).await?;
                let shutdown = crate::server::shutdown::on_signal();
                // The usual start (database up, schema current) serves at
                // once: no stand-in health server that would hand the
                // listener over with a GOAWAY, which tonic clients report
                // as INTERNAL for a call sent in that instant.
                if !crate::server::startup::ready_now::<M>(&db, config.migrate).await {
                    let wait =
                        crate::server::startup::wait_ready::<M>(&db, config.migrate, &shutdown);
                    if !crate::server::startup::answer_health_while(config, &listener, wait).await?
                    {
                        tracing::info!("stopped before the database was ready");
                        return Ok(());
                    }
                }
                serve(listener, db, shutdown).await
            }
        }
    }
    .await;
    telemetry.shutdown().await;
    result
}
