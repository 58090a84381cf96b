//! `/metrics` on the real binaries: after a few calls the request counters,
//! the latency histogram, the pool gauges and the import-row counter have
//! moved, scraped over plain HTTP as Prometheus does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, free_port};
use academy_proto::course::ListCoursesRequest;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{EmploymentStatus, Gender, Learner, RegisterLearnerRequest};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    RegisterLearnerRequest {
        learner: Some(Learner {
            email: email.into(),
            full_name: "Metric Probe".into(),
            region: region.into(),
            gender: Gender::Female as i32,
            birth_year: 1990,
            employment_status: EmploymentStatus::Employed as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
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
    let method = "method=\"/academy.course.v1.CourseService/ListCourses\"";
    assert_eq!(
        sample(&text, "grpc_server_handled_total", &[method, "code=\"Ok\""]),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "grpc_server_handled_total",
            &[method, "code=\"InvalidArgument\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "grpc_server_handling_seconds_count", &[method]),
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
    let reply = LearnerServiceClient::new(learner.channel().await)
        .import_learners(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner();
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
