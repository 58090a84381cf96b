//! OpenTelemetry export from the real binaries to a collector (a small OTLP
//! trace receiver in this test): with `OTEL_EXPORTER_OTLP_ENDPOINT` set,
//! one Enroll is one trace from the caller's `traceparent` through the
//! learner service to the course service, and reporting's feed
//! subscription is one trace with the producer's Subscribe span under it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{Stack, StackEnv, free_port, published_course, register};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::{EmploymentStatus, EnrollRequest, Learner};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::{Request, Response, Status};

/// One received span, reduced to what the test checks.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    /// The `method` or `source` attribute.
    detail: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// Everything the span carried, for the privacy check.
    raw: String,
}

#[derive(Debug, Clone, Default)]
struct Collector(Arc<Mutex<Vec<Received>>>);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut received = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .map(|a| text(a.value.as_ref()))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    let raw = format!("{span:?}");
                    let detail = span
                        .attributes
                        .iter()
                        .find(|a| a.key == "method" || a.key == "source")
                        .map(|a| text(a.value.as_ref()))
                        .unwrap_or_default();
                    received.push(Received {
                        service: service.clone(),
                        name: span.name,
                        detail,
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        raw,
                    });
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    /// Waits until a span matching `wanted` has arrived.
    async fn wait_for(&self, what: &str, wanted: impl Fn(&Received) -> bool) -> Received {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = self.0.lock().unwrap().iter().find(|r| wanted(r)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no span for {what}; received: {:#?}",
                self.0.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn enroll_and_feed_subscriptions_are_traced_across_services() {
    let collector = Collector::default();
    let port = free_port();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(collector.clone()))
        .serve(format!("127.0.0.1:{port}").parse().unwrap());
    tokio::spawn(server);
    let endpoint = format!("http://127.0.0.1:{port}");
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];

    let Stack {
        course,
        learner,
        mut reporting,
    } = Stack::start_with(StackEnv {
        common: &otel,
        ..Default::default()
    })
    .await;

    let (course_id, _) = published_course(course.channel().await, "OTEL-1", 1).await;
    let probe = Learner {
        birth_year: 1995,
        employment_status: EmploymentStatus::Student as i32,
        ..academy_e2e::learner("otel.probe@example.az", "Otel Probe")
    };
    let registered = register(learner.channel().await, None, probe).await;

    // The caller starts the trace.
    let mut enroll = Request::new(EnrollRequest {
        learner_id: registered.id.clone(),
        course_id,
        ..Default::default()
    });
    enroll.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    EnrollmentServiceClient::new(learner.channel().await)
        .enroll(enroll)
        .await
        .unwrap();

    let at_learner = collector
        .wait_for("Enroll at learner", |r| {
            r.service == "academy-learner" && r.detail.ends_with("/Enroll")
        })
        .await;
    assert_eq!(
        at_learner.trace_id, TRACE_ID,
        "learner continued the caller's trace"
    );
    assert_eq!(at_learner.parent_span_id, "00f067aa0ba902b7");
    let at_course = collector
        .wait_for("GetCourse at course", |r| {
            r.service == "academy-course" && r.detail.ends_with("/GetCourse")
        })
        .await;
    assert_eq!(at_course.trace_id, TRACE_ID, "course is in the same trace");
    assert_eq!(
        at_course.parent_span_id, at_learner.span_id,
        "course's span is a child of learner's"
    );

    // A subscription's spans end with it: stop reporting gracefully, which
    // also flushes its exporter.
    reporting.stop(Duration::from_secs(30)).await;
    for (source, producer) in [("learner", "academy-learner"), ("course", "academy-course")] {
        let subscription = collector
            .wait_for("reporting's subscription", |r| {
                r.service == "academy-reporting" && r.name == "feed.subscribe" && r.detail == source
            })
            .await;
        let served = collector
            .wait_for("Subscribe at the producer", |r| {
                r.service == producer
                    && r.detail.ends_with("/Subscribe")
                    && r.trace_id == subscription.trace_id
            })
            .await;
        assert_eq!(served.parent_span_id, subscription.span_id, "{source}");
    }
    // No personal data leaves in spans.
    let received = collector.0.lock().unwrap().clone();
    for span in &received {
        for personal in ["otel.probe@example.az", "Otel Probe"] {
            assert!(!span.raw.contains(personal), "{personal} in {}", span.raw);
        }
    }
    let count = received.len();
    println!(
        "collector received {count} spans; Enroll and both feed subscriptions traced end to end"
    );
}
