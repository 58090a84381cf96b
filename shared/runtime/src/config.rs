//! Settings shared by every service binary. Each is an environment variable
//! and the same-named long flag; the defaults run locally with no set-up.

use clap::{Args, ValueEnum};

use crate::observability::telemetry::LogFormat;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What a service is called and where it listens by default.
#[derive(Debug, Clone, Copy)]
pub struct ServiceIdentity {
    /// Short name: `course`, `learner`, `reporting`. Names the SQLite file.
    pub name: &'static str,
    /// Listen address when `ACADEMY_LISTEN` is not set.
    pub default_listen: &'static str,
}

/// When database migrations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrateMode {
    /// Apply pending migrations at start (the local default).
    Auto,
    /// Never migrate at start; a separate `<binary> migrate` run does it.
    Off,
}

/// Settings every service binary takes.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// gRPC listen address [default: the service's own, e.g. 127.0.0.1:50051 for course].
    #[arg(long, env = "ACADEMY_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Database URL: `sqlite://path?mode=rwc` or `postgres://user@host/db`
    /// [default: sqlite://<ACADEMY_DATA_DIR>/<service>.db?mode=rwc].
    #[arg(long, env = "ACADEMY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Most PostgreSQL connections this process holds (its pool size). Keep
    /// replicas × pool size under the server's (or the pooler's) limit
    /// [default: 16; SQLite always uses 4].
    #[arg(long, env = "ACADEMY_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,

    /// Directory for the embedded SQLite databases; created when missing.
    #[arg(long, env = "ACADEMY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// `auto` applies pending migrations at start; `off` leaves it to `<binary> migrate`.
    #[arg(long, env = "ACADEMY_MIGRATE", value_enum, default_value = "auto")]
    pub migrate: MigrateMode,

    /// Log filter in `tracing` syntax, e.g. `info` or `academy_course=debug,info`.
    #[arg(long, env = "ACADEMY_LOG", default_value = "info")]
    pub log: String,

    /// Log format.
    #[arg(long, env = "ACADEMY_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Longest time one unary call may take before it is cancelled, in seconds.
    #[arg(long, env = "ACADEMY_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Longest time in-flight calls get to finish after SIGTERM, in seconds;
    /// keep it below Kubernetes' terminationGracePeriodSeconds.
    #[arg(long, env = "ACADEMY_DRAIN_TIMEOUT_SECS", default_value_t = 20)]
    pub drain_timeout_secs: u64,

    /// Connections are closed (gracefully) after this many seconds, so
    /// long-lived HTTP/2 clients spread onto new replicas after a scale-out.
    #[arg(long, env = "ACADEMY_MAX_CONNECTION_AGE_SECS", default_value_t = 300)]
    pub max_connection_age_secs: u64,

    /// How long calls in flight on a connection past its age may still
    /// run, in seconds: long imports are not cut by the recycling (idle
    /// client streams end sooner, after the stream idle timeout).
    #[arg(
        long,
        env = "ACADEMY_MAX_CONNECTION_AGE_GRACE_SECS",
        default_value_t = 3600
    )]
    pub max_connection_age_grace_secs: u64,

    /// Largest request or response message accepted, in bytes.
    #[arg(long, env = "ACADEMY_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Most connections served at once; further ones wait in the kernel's
    /// backlog until one closes (each costs memory whether used or not).
    #[arg(long, env = "ACADEMY_MAX_CONNECTIONS", default_value_t = 2048)]
    pub max_connections: usize,

    /// Most calls served at once on one connection.
    #[arg(
        long,
        env = "ACADEMY_MAX_CONCURRENCY_PER_CONNECTION",
        default_value_t = 256
    )]
    pub max_concurrency_per_connection: usize,

    /// Most calls in flight on the whole server; the next is refused with
    /// RESOURCE_EXHAUSTED (load shedding) rather than queued.
    #[arg(long, env = "ACADEMY_MAX_CONCURRENT_CALLS", default_value_t = 512)]
    pub max_concurrent_calls: usize,

    /// Most calls in flight per token subject (with auth on); the next is
    /// refused with RESOURCE_EXHAUSTED, so one token cannot take every slot.
    #[arg(
        long,
        env = "ACADEMY_MAX_CONCURRENT_CALLS_PER_CALLER",
        default_value_t = 128
    )]
    pub max_concurrent_calls_per_caller: usize,

    /// Most change-feed subscriptions open at once in this process; the
    /// next is refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "ACADEMY_MAX_SUBSCRIPTIONS", default_value_t = 64)]
    pub max_subscriptions: usize,

    /// Most change-feed subscriptions one token subject may hold at once.
    #[arg(
        long,
        env = "ACADEMY_MAX_SUBSCRIPTIONS_PER_CALLER",
        default_value_t = 8
    )]
    pub max_subscriptions_per_caller: usize,

    /// A feed subscriber that leaves its buffer full this many seconds is
    /// cut with RESOURCE_EXHAUSTED (it resubscribes from its cursor).
    #[arg(long, env = "ACADEMY_SLOW_SUBSCRIBER_SECS", default_value_t = 30)]
    pub slow_subscriber_secs: u64,

    /// Where Prometheus scrapes `/metrics` over plain HTTP (off when unset),
    /// e.g. 0.0.0.0:9090.
    #[arg(long, env = "ACADEMY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// A request counter or latency series nobody updated for this many
    /// seconds is dropped from `/metrics`, so series do not pile up.
    #[arg(long, env = "ACADEMY_METRICS_IDLE_TIMEOUT_SECS", default_value_t = 900)]
    pub metrics_idle_timeout_secs: u64,

    #[command(flatten)]
    pub auth: crate::auth::AuthConfig,

    #[command(flatten)]
    pub tls: crate::tls::TlsConfig,

    #[command(flatten)]
    pub otel: crate::observability::telemetry::TracingConfig,
}

impl ServerConfig {
    /// Defaults as if no flag or variable was set, but with auth disabled:
    /// for in-process tests of everything else (auth has tests of its own).
    pub fn local(data_dir: PathBuf) -> Self {
        Self {
            listen: None,
            database_url: None,
            db_pool_size: None,
            data_dir,
            migrate: MigrateMode::Auto,
            log: "info".into(),
            log_format: LogFormat::Pretty,
            request_timeout_secs: 30,
            drain_timeout_secs: 20,
            max_connection_age_secs: 300,
            max_connection_age_grace_secs: 3600,
            max_message_bytes: 4 * 1024 * 1024,
            max_connections: 2048,
            max_concurrency_per_connection: 256,
            max_concurrent_calls: 512,
            max_concurrent_calls_per_caller: 128,
            max_subscriptions: 64,
            max_subscriptions_per_caller: 8,
            slow_subscriber_secs: 30,
            metrics_listen: None,
            metrics_idle_timeout_secs: 900,
            auth: crate::auth::AuthConfig::disabled(),
            tls: crate::tls::TlsConfig::default(),
            otel: crate::observability::telemetry::TracingConfig::default(),
        }
    }

    pub fn listen_addr(&self, service: &ServiceIdentity) -> anyhow::Result<SocketAddr> {
        match self.listen {
            Some(addr) => Ok(addr),
            None => Ok(service.default_listen.parse()?),
        }
    }

    /// The configured URL, or the service's SQLite file in the data directory.
    pub fn database_url(&self, service: &ServiceIdentity) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}/{}.db?mode=rwc",
                self.data_dir.display(),
                service.name
            ),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }

    pub fn max_connection_age_grace(&self) -> Duration {
        Duration::from_secs(self.max_connection_age_grace_secs)
    }

    pub fn max_connection_age(&self) -> Duration {
        Duration::from_secs(self.max_connection_age_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COURSE: ServiceIdentity = ServiceIdentity {
        name: "course",
        default_listen: "127.0.0.1:50051",
    };

    #[test]
    fn defaults_point_at_a_local_sqlite_file() {
        let config = ServerConfig::local("./data".into());
        assert_eq!(
            config.database_url(&COURSE),
            "sqlite://./data/course.db?mode=rwc"
        );
        assert_eq!(config.listen_addr(&COURSE).unwrap().port(), 50051);
    }
}
