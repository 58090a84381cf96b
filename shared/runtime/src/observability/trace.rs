//! W3C trace context across services: read from incoming calls into the
//! request span, and written onto the calls a service makes (learner →
//! course, reporting → the feeds), so one user action is one trace.

use opentelemetry::propagation::{Extractor, Injector};
use tonic::Request;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span` the child of the trace context in `headers`, if any (a
/// call without one starts a new trace), and records the trace id on it so
/// log lines can be joined to traces.
pub fn continue_trace(span: &Span, headers: &http::HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    // Fails only when the span is disabled (filtered out): nothing to link.
    let _ = span.set_parent(parent);
    let trace_id = {
        use opentelemetry::trace::TraceContextExt;
        span.context().span().span_context().trace_id()
    };
    span.record("trace_id", tracing::field::display(trace_id));
}

/// The trace context of the code running now, to send on calls it makes.
#[derive(Debug, Clone, Default)]
pub struct TraceContext(opentelemetry::Context);

impl TraceContext {
    /// The context of the current span (inside a handler: the call's).
    pub fn current() -> Self {
        Self(Span::current().context())
    }

    /// The context of `span`.
    pub fn of(span: &Span) -> Self {
        Self(span.context())
    }

    /// Writes `traceparent` (and `tracestate`) onto an outgoing request.
    pub fn inject<T>(&self, request: &mut Request<T>) {
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&self.0, &mut MetadataInjector(request.metadata_mut()));
        });
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    #[test]
    fn injects_the_context_as_a_w3c_traceparent_and_nothing_else() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let span_context = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id"),
            SpanId::from_hex("b7ad6b7169203331").expect("span id"),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let context =
            TraceContext(opentelemetry::Context::new().with_remote_span_context(span_context));
        let mut outgoing = Request::new(());
        context.inject(&mut outgoing);
        assert_eq!(
            outgoing
                .metadata()
                .get("traceparent")
                .and_then(|v| v.to_str().ok()),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        assert!(outgoing.metadata().get("authorization").is_none());

        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        );
        let extracted = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(&headers))
        });
        assert_eq!(
            extracted.span().span_context().trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
    }
}
