//! Logging and tracing set-up. Request spans carry the gRPC method, status,
//! latency and trace id; request bodies are never logged, so personal data
//! stays out.
//!
//! Spans always belong to an OpenTelemetry trace (W3C trace context is read
//! from incoming calls and sent on outgoing ones, see [`crate::observability::trace`]), so
//! logs of one user action share a trace id across services. Spans leave the
//! process only when an OTLP endpoint is configured.

use clap::{Args, ValueEnum};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use std::io::IsTerminal;
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Where traces go. The variable names are OpenTelemetry's own, which
/// collectors' and operators' set-ups already use.
#[derive(Debug, Clone, Default, Args)]
pub struct TracingConfig {
    /// OTLP/gRPC collector that receives spans, e.g. http://otel-collector:4317
    /// [default: off]. Batching follows the standard OTEL_BSP_* variables.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// `service.name` of the exported spans [default: academy-<service>].
    #[arg(long, env = "OTEL_SERVICE_NAME")]
    pub otel_service_name: Option<String>,
}

/// Owns the span exporter; [`Telemetry::shutdown`] flushes what is queued.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Telemetry {
    /// Sends the spans still queued (when exporting) and stops the exporter.
    pub async fn shutdown(self) {
        if !self.exporting {
            return;
        }
        // The provider blocks until its batch task, which runs on this
        // runtime, has flushed: wait for it off the async workers.
        let provider = self.provider;
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if !matches!(flushed, Ok(Ok(()))) {
            eprintln!("trace export did not flush cleanly: {flushed:?}");
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber and the trace context propagator. Call
/// from within the Tokio runtime (the exporter's batch task runs on it).
/// Safe to call more than once (tests do): later calls leave the first
/// subscriber in place.
pub fn init(
    log: &str,
    log_format: LogFormat,
    otel: &TracingConfig,
    service: &str,
) -> anyhow::Result<Telemetry> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let name = otel
        .otel_service_name
        .clone()
        .unwrap_or_else(|| format!("academy-{service}"));
    let mut provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(name).build());
    let exporting = otel.otlp_endpoint.is_some();
    if let Some(endpoint) = &otel.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()?;
        let processor =
            BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
        provider = provider.with_span_processor(processor);
    }
    let provider = provider.build();
    // Each layer has its own filter: ACADEMY_LOG=warn quiets the logs but
    // must not stop the request spans that make up the traces.
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("academy"))
        .with_filter(Targets::new().with_target("academy", Level::INFO));
    let filter = || EnvFilter::try_new(log).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(spans);
    let installed = match log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_filter(filter()),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    // Colour codes only for a terminal, never into files or pipes.
                    .with_ansi(std::io::stdout().is_terminal())
                    .with_filter(filter()),
            )
            .try_init(),
    };
    if installed.is_ok() && exporting {
        tracing::info!(endpoint = ?otel.otlp_endpoint, "exporting traces over OTLP");
    }
    Ok(Telemetry {
        provider,
        exporting,
    })
}
