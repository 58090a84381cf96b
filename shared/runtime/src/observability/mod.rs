//! What a running service tells its operators: Prometheus metrics, logs and
//! OpenTelemetry spans, and the W3C trace context carried across services.

pub mod metrics;
pub mod telemetry;
pub mod trace;
