//! W3C trace context carried from an incoming call to the calls it makes, so
//! one user action can be followed across services.

use tonic::Request;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};

const HEADERS: [&str; 2] = ["traceparent", "tracestate"];

/// The trace headers of the call being served.
#[derive(Debug, Clone, Default)]
pub struct TraceContext(Vec<(&'static str, AsciiMetadataValue)>);

impl TraceContext {
    pub fn from_metadata(metadata: &MetadataMap) -> Self {
        Self(
            HEADERS
                .iter()
                .filter_map(|name| metadata.get(*name).map(|value| (*name, value.clone())))
                .collect(),
        )
    }

    /// Copies the trace headers onto an outgoing request.
    pub fn inject<T>(&self, request: &mut Request<T>) {
        for (name, value) in &self.0 {
            request.metadata_mut().insert(*name, value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_traceparent_only_when_present() {
        let mut incoming = MetadataMap::new();
        incoming.insert(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                .parse()
                .unwrap(),
        );
        incoming.insert("authorization", "Bearer secret".parse().unwrap());
        let context = TraceContext::from_metadata(&incoming);
        let mut outgoing = Request::new(());
        context.inject(&mut outgoing);
        assert!(outgoing.metadata().get("traceparent").is_some());
        assert!(outgoing.metadata().get("authorization").is_none());
        assert!(outgoing.metadata().get("tracestate").is_none());
    }
}
