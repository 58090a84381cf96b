//! The one place a gRPC server is built: health, reflection, tracing layer,
//! limits, and a graceful shutdown with a bounded drain. Each of the
//! server's own layers is a [`middleware::Middleware`].

pub mod caller_limit;
pub mod codes;
pub mod connections;
pub mod deadline;
pub mod gate;
pub mod middleware;
pub mod shed;
pub mod shutdown;
pub mod startup;

use academy_proto::FILE_DESCRIPTOR_SET;
use sea_orm::DatabaseConnection;
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::Service;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::audit::{self, AuditService};
use crate::auth::{AuthLayer, ScopeTable, Verifier};
use crate::config::ServerConfig;
use crate::observability::metrics::GrpcMetricsLayer;
use crate::server::caller_limit::CallerLimitLayer;
use crate::server::deadline::UnaryDeadlineLayer;
use crate::server::middleware::Layered;
use crate::server::shed::ShedLayer;
use academy_proto::audit::audit_service_server;

/// How often the database is pinged to drive the health status.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// A ping slower than this counts as "database unreachable".
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// HTTP/2 receive windows. h2 closes a connection (GOAWAY
/// ENHANCE_YOUR_CALM "too_many_data_frames") when the small DATA frames it
/// holds unread cost more than half the connection window; grpcurl and
/// grpcio send each message of a client stream as its own small frame, so
/// with hyper's defaults (1 MiB and 1 MiB) an import that was busy
/// committing a batch lost its connection part-way. A stream window far
/// below half the connection window keeps a stream's unread frames under
/// that budget whatever the client's framing (down to ~60-byte messages).
const CONNECTION_WINDOW: u32 = 8 * 1024 * 1024;
const STREAM_WINDOW: u32 = 256 * 1024;

/// The gRPC services one binary serves, and their names for health checks.
#[derive(Debug, Default)]
pub struct Services {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    /// Extra health entries (e.g. one per followed feed) and whether each is up.
    checks: Vec<(String, watch::Receiver<bool>)>,
    /// The scope each method needs.
    scopes: ScopeTable,
}

impl Services {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Reports `name` in `grpc.health.v1` as SERVING while `up` is true.
    pub fn health_check(
        &mut self,
        name: impl Into<String>,
        up: watch::Receiver<bool>,
    ) -> &mut Self {
        self.checks.push((name.into(), up));
        self
    }

    /// Declares the scope each method of `service` needs (the service's
    /// scope table). Serving fails to start if a method has none.
    pub fn authorize(&mut self, service: &str, table: &[(&str, &'static str)]) -> &mut Self {
        for (method, scope) in table {
            self.scopes.insert(format!("/{service}/{method}"), *scope);
        }
        self
    }
}

/// Serves `services` on `listener` until `shutdown` is cancelled, then drains
/// in-flight calls for at most the configured drain timeout.
pub async fn serve(
    config: &ServerConfig,
    listener: TcpListener,
    db: DatabaseConnection,
    mut services: Services,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Every binary serves its own audit log.
    services
        .add(AuditService::new(db.clone()).into_server())
        .authorize(audit_service_server::SERVICE_NAME, audit::service::SCOPES);
    let auth = auth_layer(config, &services)?;
    if let Some(verifier) = auth.verifier() {
        crate::auth::reload::watch_jwks(config.auth.clone(), verifier, shutdown.clone());
    }
    if config.metrics_listen.is_some() {
        crate::observability::metrics::watch_pool(db.clone(), shutdown.clone());
    }
    let (health, health_service) = tonic_health::server::health_reporter();
    let names = services.names.clone();
    set_health(&health, &names, ServingStatus::NotServing).await;
    // Liveness does not follow the database: restarting a replica does not
    // bring the database back (issue #20, item 5).
    health
        .set_service_status(crate::server::startup::LIVENESS, ServingStatus::Serving)
        .await;
    let (database_up, gate) = crate::server::gate::database_gate();
    let shed = ShedLayer::new(config.max_concurrent_calls);
    let watcher = tokio::spawn(watch_database(
        db,
        health.clone(),
        database_up,
        shed.saturated(),
        names.clone(),
        shutdown.clone(),
    ));
    for (name, up) in services.checks {
        tokio::spawn(watch_check(health.clone(), name, up, shutdown.clone()));
    }

    let reflection_v1 = reflection(&names).build_v1()?;
    let reflection_v1alpha = reflection(&names).build_v1alpha()?;

    let trace = TraceLayer::new_for_grpc()
        .make_span_with(|request: &http::Request<Body>| {
            let span = tracing::info_span!(
                "rpc",
                method = %request.uri().path(),
                trace_id = tracing::field::Empty
            );
            crate::observability::trace::continue_trace(&span, request.headers());
            span
        })
        .on_response(DefaultOnResponse::new().level(Level::DEBUG))
        .on_failure(DefaultOnFailure::new().level(Level::WARN));

    let addr = listener.local_addr()?;
    tracing::info!(%addr, services = ?names, "serving gRPC");
    // Client streams run as long as the client sends: the method list comes
    // from the contract, so no method can be forgotten or misspelt.
    let mut streaming = client_streaming_methods(&names)?;
    streaming.push(format!(
        "/{}/Subscribe",
        academy_proto::events::event_feed_server::SERVICE_NAME
    ));
    streaming.push("/grpc.health.v1.Health/Watch".to_owned());
    streaming.push("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo".to_owned());
    streaming.push("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo".to_owned());
    let builder = Server::builder();
    // TLS is terminated before tonic, so certificates can be reloaded.
    let tls = crate::tls::reload::ReloadingTls::from_config(&config.tls)?;
    if let Some(tls) = &tls {
        tracing::info!(mutual = config.tls.mutual(), "TLS on");
        tls.watch(config.tls.reload_every(), shutdown.clone());
    }
    let health_port = match config.tls.health_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|err| {
                anyhow::anyhow!("cannot listen for health checks on {addr}: {err}")
            })?;
            tracing::info!(%addr, "serving plaintext health checks");
            let mut routes = RoutesBuilder::default();
            routes
                .add_service(health_service.clone())
                .add_service(health_reflection().build_v1()?)
                .add_service(health_reflection().build_v1alpha()?);
            Some(tokio::spawn(serve_health(
                listener,
                routes.routes(),
                shutdown.clone(),
            )))
        }
        None => None,
    };
    let server = builder
        .max_connection_age(config.max_connection_age())
        .max_connection_age_grace(config.max_connection_age_grace())
        .initial_connection_window_size(CONNECTION_WINDOW)
        .initial_stream_window_size(STREAM_WINDOW)
        .concurrency_limit_per_connection(config.max_concurrency_per_connection)
        // The same number as HTTP/2's own limit: a client opens no more
        // streams than are served, instead of queueing them on the server.
        .max_concurrent_streams(u32::try_from(config.max_concurrency_per_connection).ok())
        // A peer that stops answering pings is gone: its connection closes.
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(trace)
        .layer(Layered(GrpcMetricsLayer::new(known_paths(
            &services.scopes,
        ))))
        .layer(Layered(crate::server::codes::PreciseCodesLayer))
        .layer(Layered(shed))
        .layer(Layered(auth))
        // Without auth every call is the same anonymous caller: the
        // server-wide limit is the only one.
        .layer(tower::util::option_layer(
            (!config.auth.auth_disabled).then(|| {
                Layered(CallerLimitLayer::new(
                    config.max_concurrent_calls_per_caller,
                ))
            }),
        ))
        .layer(Layered(gate))
        .layer(Layered(UnaryDeadlineLayer::new(
            config.request_timeout(),
            streaming,
        )))
        .add_routes(services.routes.routes())
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    // With TCP_NODELAY: small gRPC frames must not wait for Nagle's
    // algorithm (it added ~40 ms to some unary calls on loopback).
    let incoming = crate::server::connections::incoming(listener, config.max_connections);
    let stop = shutdown.clone().cancelled_owned();
    let server: futures::future::BoxFuture<'_, Result<(), tonic::transport::Error>> = match &tls {
        Some(tls) => Box::pin(server.serve_with_incoming_shutdown(tls.incoming(incoming), stop)),
        None => Box::pin(server.serve_with_incoming_shutdown(incoming, stop)),
    };

    let drain = config.drain_timeout();
    let result = tokio::select! {
        result = server => result.map_err(anyhow::Error::from),
        _ = async { shutdown.cancelled().await; tokio::time::sleep(drain).await } => {
            tracing::warn!(?drain, "drain timed out; closing remaining connections");
            Ok(())
        }
    };
    watcher.abort();
    if let Some(health_port) = health_port {
        health_port.abort();
    }
    tracing::info!("server stopped");
    result
}

/// Every path this binary serves: its services' methods (each is in the
/// scope table) plus health and reflection. Metrics label anything else
/// `unknown`.
fn known_paths(scopes: &ScopeTable) -> Vec<String> {
    let mut paths: Vec<String> = scopes.keys().cloned().collect();
    paths.extend(
        [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        .map(str::to_owned),
    );
    paths
}

/// Reflection that knows only health, so grpcurl can call it by name on
/// the plaintext health port.
fn health_reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
}

/// Serves only `grpc.health.v1` (and reflection of it), in plaintext, on
/// its own port: kubelet probes speak neither TLS nor auth, and health
/// reveals nothing else.
async fn serve_health(
    listener: TcpListener,
    routes: tonic::service::Routes,
    shutdown: CancellationToken,
) {
    let result = Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await;
    if let Err(err) = result {
        tracing::error!(%err, "health port stopped");
    }
}

/// The auth layer for `services`; refuses to start without a key unless
/// auth is disabled explicitly, or when a served method has no scope.
fn auth_layer(config: &ServerConfig, services: &Services) -> anyhow::Result<AuthLayer> {
    let unscoped = unscoped_methods(&services.names, &services.scopes)?;
    if !unscoped.is_empty() {
        anyhow::bail!("methods without a scope: {}", unscoped.join(", "));
    }
    if config.auth.auth_disabled {
        tracing::warn!(
            "AUTHENTICATION IS DISABLED (ACADEMY_AUTH_DISABLED=true): anyone who can reach \
             this port can read and change everything, personal data included"
        );
        return Ok(AuthLayer::new(None, services.scopes.clone()));
    }
    let verifier = Verifier::from_config(&config.auth)?;
    tracing::info!(?verifier, "bearer tokens required");
    Ok(AuthLayer::new(Some(verifier), services.scopes.clone()))
}

/// Methods of the served services (from the contract's descriptors) that
/// the scope table leaves out.
pub fn unscoped_methods(names: &[&str], scopes: &ScopeTable) -> anyhow::Result<Vec<String>> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)?;
    let mut missing = Vec::new();
    for file in &set.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            if !names.contains(&full.as_str()) {
                continue;
            }
            for method in &service.method {
                let path = format!("/{full}/{}", method.name());
                if !scopes.contains_key(&path) {
                    missing.push(path);
                }
            }
        }
    }
    Ok(missing)
}

/// The client-streaming methods of the served services, from the
/// contract's descriptors: their handlers read the stream to its end, so
/// the unary deadline must not apply to them.
pub fn client_streaming_methods(names: &[&str]) -> anyhow::Result<Vec<String>> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)?;
    let mut paths = Vec::new();
    for file in &set.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            if !names.contains(&full.as_str()) {
                continue;
            }
            paths.extend(
                service
                    .method
                    .iter()
                    .filter(|m| m.client_streaming())
                    .map(|m| format!("/{full}/{}", m.name())),
            );
        }
    }
    Ok(paths)
}

/// The files of the contract that describe `names` (the services this
/// binary serves) and the files they import, transitively: reflection
/// describes nothing this binary does not serve (issue #15, item 9).
pub fn served_descriptors(names: &[&str]) -> anyhow::Result<prost_types::FileDescriptorSet> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)?;
    let by_name: std::collections::HashMap<&str, &prost_types::FileDescriptorProto> =
        set.file.iter().map(|f| (f.name(), f)).collect();
    let mut wanted: Vec<&str> = set
        .file
        .iter()
        .filter(|f| {
            f.service
                .iter()
                .any(|s| names.contains(&format!("{}.{}", f.package(), s.name()).as_str()))
        })
        .map(|f| f.name())
        .collect();
    let mut kept = std::collections::BTreeSet::new();
    while let Some(name) = wanted.pop() {
        if kept.insert(name.to_owned())
            && let Some(file) = by_name.get(name)
        {
            wanted.extend(file.dependency.iter().map(String::as_str));
        }
    }
    let file = set
        .file
        .iter()
        .filter(|f| kept.contains(f.name()))
        .map(|f| {
            // A kept file may declare services this binary does not serve
            // (EventFeed beside others): those are left out.
            let mut f = f.clone();
            let package = f.package().to_owned();
            f.service
                .retain(|s| names.contains(&format!("{package}.{}", s.name()).as_str()));
            f
        })
        .collect();
    Ok(prost_types::FileDescriptorSet { file })
}

/// Reflection that lists only what this binary serves (the descriptor set
/// holds the whole contract) and knows the health and `google.rpc` error
/// detail types, so grpcurl can call health and decode error details.
fn reflection(names: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    let mut builder = tonic_reflection::server::Builder::configure();
    builder = match served_descriptors(names) {
        Ok(set) => builder.register_file_descriptor_set(set),
        // The contract's own descriptors, checked by its build: not expected.
        Err(err) => {
            tracing::error!(%err, "cannot narrow the reflection descriptors");
            builder
        }
    };
    builder = builder
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    for name in names {
        builder = builder.with_service_name(*name);
    }
    builder
}

/// Keeps the health status in step with the database and the load:
/// NOT_SERVING until the database answers, while it does not, while every
/// in-flight slot is taken (`saturated`, from the shed layer), and from the
/// moment shutdown starts. The database gate hears the database's verdict
/// alone, so calls fail at once while the database is away instead of
/// waiting for their deadline.
async fn watch_database(
    db: DatabaseConnection,
    health: HealthReporter,
    database_up: watch::Sender<bool>,
    mut saturated: watch::Receiver<bool>,
    names: Vec<&'static str>,
    shutdown: CancellationToken,
) {
    let mut last = None;
    let mut reachable = false;
    let mut next_ping = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_ping {
            reachable = matches!(
                tokio::time::timeout(PING_TIMEOUT, db.ping()).await,
                Ok(Ok(()))
            );
            // For the "database down" alert.
            metrics::gauge!("academy_database_up").set(f64::from(u8::from(reachable)));
            if database_up.send_replace(reachable) != reachable {
                if reachable {
                    tracing::info!("database reachable");
                } else {
                    tracing::warn!("database unreachable: NOT_SERVING");
                }
            }
            next_ping = tokio::time::Instant::now() + HEALTH_INTERVAL;
        }
        let busy = *saturated.borrow_and_update();
        let status = if reachable && !busy {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            if busy {
                tracing::warn!("every in-flight slot taken: NOT_SERVING until some free");
            } else if status == ServingStatus::Serving {
                tracing::info!("SERVING");
            }
            set_health(&health, &names, status).await;
            last = Some(status);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next_ping) => {}
            changed = saturated.changed() => {
                if changed.is_err() {
                    // The server is gone; only the database is watched now.
                    saturated = watch::channel(false).1;
                }
            }
            _ = shutdown.cancelled() => {
                set_health(&health, &names, ServingStatus::NotServing).await;
                return;
            }
        }
    }
}

/// Mirrors one extra check into the health service until shutdown.
async fn watch_check(
    health: HealthReporter,
    name: String,
    mut up: watch::Receiver<bool>,
    shutdown: CancellationToken,
) {
    loop {
        let status = if *up.borrow_and_update() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        health.set_service_status(name.as_str(), status).await;
        tokio::select! {
            changed = up.changed() => if changed.is_err() { return },
            _ = shutdown.cancelled() => {
                health.set_service_status(name.as_str(), ServingStatus::NotServing).await;
                return;
            }
        }
    }
}

async fn set_health(health: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    // The empty name is the whole server, which is what Kubernetes probes ask about.
    health.set_service_status("", status).await;
    for name in names {
        health.set_service_status(*name, status).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(set: &prost_types::FileDescriptorSet) -> Vec<String> {
        set.file
            .iter()
            .flat_map(|f| {
                f.service
                    .iter()
                    .map(move |s| format!("{}.{}", f.package(), s.name()))
            })
            .collect()
    }

    #[test]
    fn reflection_describes_only_the_services_served() {
        let course = [
            "academy.course.v1.CourseService",
            "academy.events.v1.EventFeed",
            "academy.audit.v1.AuditService",
        ];
        let set = served_descriptors(&course).expect("descriptors");
        let mut served = symbols(&set);
        served.sort();
        let mut expected: Vec<String> = course.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(served, expected);
        let files: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
        assert!(
            !files
                .iter()
                .any(|f| f.starts_with("academy/learner/") || f.starts_with("academy/reporting/")),
            "course describes learner or reporting files: {files:?}"
        );
        // What the served methods use is still there (imports included).
        assert!(
            files.iter().any(|f| f.starts_with("google/protobuf/")),
            "{files:?}"
        );
    }

    #[test]
    fn client_streams_come_from_the_contract() {
        let learner = [
            "academy.learner.v1.LearnerService",
            "academy.learner.v1.EnrollmentService",
            "academy.events.v1.EventFeed",
        ];
        let mut streams = client_streaming_methods(&learner).expect("descriptors");
        streams.sort();
        assert_eq!(
            streams,
            [
                "/academy.learner.v1.EnrollmentService/BulkEnroll",
                "/academy.learner.v1.EnrollmentService/BulkRecordProgress",
                "/academy.learner.v1.LearnerService/ImportLearners",
                "/academy.learner.v1.LearnerService/SyncLearners",
            ]
        );
        // Server streams (ExportReport) keep the deadline on their first answer.
        let reporting = ["academy.reporting.v1.ReportingService"];
        assert!(
            client_streaming_methods(&reporting)
                .expect("descriptors")
                .is_empty()
        );
    }
}
