//! Prometheus metrics: a `/metrics` endpoint on its own port, gRPC calls by
//! service, method and code with latency histograms (the names and labels
//! of go-grpc-prometheus, so the usual dashboards work), and database pool
//! usage. Services add their own (feed lag, import rows) through the
//! `metrics` macros; without an endpoint configured those are no-ops.
//!
//! Labels are bounded: the layer sits outside auth, so any caller can send
//! any path; a path this binary does not serve is recorded as `unknown`
//! (issue #20, item 6), and counters and histograms nobody updated for the
//! idle timeout leave the registry.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use metrics_util::MetricKindMask;
use sea_orm::{DatabaseBackend, DatabaseConnection};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::server::middleware::{CallFuture, Inner, Middleware, Req, grpc_status};

/// Latency buckets in seconds: from a cached point read to a long export.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What a path this binary does not serve is recorded as.
pub const UNKNOWN: &str = "unknown";

/// Starts the `/metrics` listener on `addr`. Counters and histograms not
/// updated for `idle_timeout` are dropped (a rate over a dropped counter
/// restarts from zero, which Prometheus handles as a reset); gauges are
/// kept, their owners set them on a timer.
pub fn install(addr: SocketAddr, idle_timeout: Duration) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .idle_timeout(
            MetricKindMask::COUNTER | MetricKindMask::HISTOGRAM,
            Some(idle_timeout),
        )
        .set_buckets_for_metric(
            Matcher::Full("grpc_server_handling_seconds".into()),
            &LATENCY_BUCKETS,
        )?
        .install()?;
    tracing::info!(%addr, "serving Prometheus metrics at /metrics");
    Ok(())
}

/// Samples pool usage every few seconds until `shutdown`.
pub fn watch_pool(db: DatabaseConnection, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let (size, idle, max) = match db.get_database_backend() {
                DatabaseBackend::Postgres => {
                    let pool = db.get_postgres_connection_pool();
                    (
                        pool.size(),
                        pool.num_idle(),
                        pool.options().get_max_connections(),
                    )
                }
                DatabaseBackend::Sqlite => {
                    let pool = db.get_sqlite_connection_pool();
                    (
                        pool.size(),
                        pool.num_idle(),
                        pool.options().get_max_connections(),
                    )
                }
                _ => (0, 0, 0),
            };
            // The pool-saturation alert divides in_use by this.
            metrics::gauge!("db_pool_max_connections").set(f64::from(max));
            let idle = u32::try_from(idle).unwrap_or(u32::MAX);
            metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
            metrics::gauge!("db_pool_connections", "state" => "in_use")
                .set(f64::from(size.saturating_sub(idle)));
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

/// Counts every call by service, method and status code and times it.
/// `known` holds the paths (`/package.Service/Method`) this binary serves.
#[derive(Debug, Clone, Default)]
pub struct GrpcMetricsLayer {
    known: Arc<HashSet<String>>,
}

impl GrpcMetricsLayer {
    pub fn new(known: impl IntoIterator<Item = String>) -> Self {
        Self {
            known: Arc::new(known.into_iter().collect()),
        }
    }

    /// The `grpc_service` and `grpc_method` labels for `path`: its two
    /// halves when served, else `unknown` twice.
    fn labels(&self, path: &str) -> (String, String) {
        let split = self
            .known
            .contains(path)
            .then(|| path.strip_prefix('/')?.split_once('/'))
            .flatten();
        match split {
            Some((service, method)) => (service.to_owned(), method.to_owned()),
            None => (UNKNOWN.to_owned(), UNKNOWN.to_owned()),
        }
    }
}

impl Middleware for GrpcMetricsLayer {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, req: Req<B>) -> CallFuture<S::Error> {
        let (service, method) = self.labels(req.uri().path());
        let started = Instant::now();
        let call = inner.call(req);
        Box::pin(async move {
            let result = call.await;
            // Failures come back "trailers-only", with grpc-status in the
            // headers; a response without it is a success (or a stream whose
            // status only its trailers will tell).
            let code = match &result {
                Ok(response) => grpc_status(response)
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from),
                Err(_) => tonic::Code::Unknown,
            };
            metrics::counter!(
                "grpc_server_handled_total",
                "grpc_service" => service.clone(),
                "grpc_method" => method.clone(),
                "grpc_code" => code_name(code)
            )
            .increment(1);
            metrics::histogram!(
                "grpc_server_handling_seconds",
                "grpc_service" => service,
                "grpc_method" => method
            )
            .record(started.elapsed().as_secs_f64());
            result
        })
    }
}

/// A status code's canonical name, as gRPC's own docs and dashboards spell it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_paths_get_their_own_labels() {
        let layer = GrpcMetricsLayer::new(["/a.v1.S/Get".to_owned()]);
        assert_eq!(layer.labels("/a.v1.S/Get"), ("a.v1.S".into(), "Get".into()));
        for path in ["/a.v1.S/Other", "/x/y", "/", "", "/a.v1.S/Get/extra"] {
            assert_eq!(
                layer.labels(path),
                (UNKNOWN.into(), UNKNOWN.into()),
                "{path}"
            );
        }
    }

    #[test]
    fn codes_have_their_canonical_names() {
        assert_eq!(code_name(tonic::Code::NotFound), "NOT_FOUND");
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(code_name(tonic::Code::from(99)), "UNKNOWN");
    }
}
