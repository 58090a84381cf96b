//! `/metrics` on the real binaries: after a few calls the request counters,
//! the latency histogram, the pool gauges and the import-row counter have
//! moved, scraped over plain HTTP as Prometheus does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, free_port, import_learners, registration};
use academy_proto::course::ListCoursesRequest;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::learner::{Learner, RegisterLearnerRequest};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

/// GET /metrics over HTTP/1.1; the body as text.
async fn scrape(addr: &str) -> String {
    for _ in 0..50 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            let request =
                format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            return response;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing serves metrics on {addr}");
}

/// The value of the sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(name) && labels.iter().all(|l| line.contains(l)))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

fn row(email: &str, region: &str) -> RegisterLearnerRequest {
    registration(Learner {
        region: region.into(),
        ..academy_e2e::learner(email, "Metric Probe")
    })
}

#[tokio::test]
async fn counters_move_after_calls() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let course = ServiceProcess::start(
        "academy-course",
        &[("ACADEMY_METRICS_LISTEN", &metrics_addr)],
    )
    .await;
    let mut client = CourseServiceClient::new(course.channel().await);
    for _ in 0..3 {
        client
            .list_courses(ListCoursesRequest::default())
            .await
            .unwrap();
    }
    let bad = ListCoursesRequest {
        page_size: -1,
        ..Default::default()
    };
    assert!(client.list_courses(bad).await.is_err());

    let text = scrape(&metrics_addr).await;
    let service = "grpc_service=\"academy.course.v1.CourseService\"";
    let method = "grpc_method=\"ListCourses\"";
    assert_eq!(
        sample(
            &text,
            "grpc_server_handled_total",
            &[service, method, "grpc_code=\"OK\""]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "grpc_server_handled_total",
            &[service, method, "grpc_code=\"INVALID_ARGUMENT\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "grpc_server_handling_seconds_count",
            &[service, method]
        ),
        Some(4.0)
    );
    assert!(
        text.contains("grpc_server_handling_seconds_bucket"),
        "histogram buckets"
    );
    assert!(
        sample(&text, "db_pool_connections", &["state=\"idle\""]).is_some(),
        "{text}"
    );
    // What the alerts divide by and look at (deploy/k8s/overlays/prod).
    assert_eq!(sample(&text, "db_pool_max_connections", &[]), Some(4.0));
    assert_eq!(sample(&text, "academy_database_up", &[]), Some(1.0));

    let learner_metrics = format!("127.0.0.1:{}", free_port());
    let learner = ServiceProcess::start(
        "academy-learner",
        &[
            ("ACADEMY_METRICS_LISTEN", &learner_metrics),
            ("ACADEMY_COURSE_ENDPOINT", &course.endpoint()),
        ],
    )
    .await;
    let rows = vec![
        row("m1@example.az", "Baku"),
        row("m2@example.az", "Baku"),
        row("m3@example.az", "Atlantis"),
    ];
    let reply = import_learners(learner.channel().await, rows).await;
    assert_eq!(reply.created, 2);
    let text = scrape(&learner_metrics).await;
    let stream = "stream=\"ImportLearners\"";
    assert_eq!(
        sample(
            &text,
            "learner_import_rows_total",
            &[stream, "outcome=\"created\""]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "learner_import_rows_total",
            &[stream, "outcome=\"rejected\""]
        ),
        Some(1.0)
    );
}

/// Calls `path` with an empty message; the status code it ends with.
async fn call(channel: Channel, path: &str) -> tonic::Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = PathAndQuery::try_from(path.to_owned()).unwrap();
    match grpc.unary(tonic::Request::new(()), path, codec).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// Issue #20, item 6: a loop of calls to made-up paths adds one `unknown`
/// series, not one per path; and series nobody updates leave `/metrics`.
#[tokio::test]
async fn labels_stay_bounded_and_idle_series_expire() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let course = ServiceProcess::start(
        "academy-course",
        &[
            ("ACADEMY_METRICS_LISTEN", &metrics_addr),
            ("ACADEMY_METRICS_IDLE_TIMEOUT_SECS", "3"),
        ],
    )
    .await;
    let channel = course.channel().await;
    for i in 0..50 {
        let code = call(channel.clone(), &format!("/probe{i}.Svc/Method{i}")).await;
        assert_eq!(code, tonic::Code::Unimplemented);
    }
    let text = scrape(&metrics_addr).await;
    assert!(!text.contains("probe"), "a raw path became a label: {text}");
    let unknown = ["grpc_service=\"unknown\"", "grpc_method=\"unknown\""];
    let mut labels = unknown.to_vec();
    labels.push("grpc_code=\"UNIMPLEMENTED\"");
    assert_eq!(
        sample(&text, "grpc_server_handled_total", &labels),
        Some(50.0),
        "{text}"
    );
    let series = text
        .lines()
        .filter(|l| l.starts_with("grpc_server_handled_total"))
        .count();
    assert!(
        series <= 2,
        "one series for unknown paths (+ health): {text}"
    );

    // Nothing calls for longer than the idle timeout: the request series
    // go (pruning happens on a scrape), the pool gauges stay.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = scrape(&metrics_addr).await;
    let text = scrape(&metrics_addr).await;
    assert!(
        !text.contains("grpc_server_handled_total{"),
        "idle series still exported: {text}"
    );
    assert!(
        sample(&text, "db_pool_connections", &["state=\"idle\""]).is_some(),
        "{text}"
    );
}
