//! Logging and tracing set-up. Request spans carry the gRPC method, status
//! and latency; request bodies are never logged, so personal data stays out.

use crate::config::{LogFormat, ServerConfig};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call more than once (tests do):
/// later calls leave the first subscriber in place.
pub fn init(config: &ServerConfig) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
