//! Issue #20, item 7: learner spreads its calls to course over every course
//! server it is given, not one connection to one of them. Three course
//! servers share one database; learner enrolls 30 learners (each Enroll asks
//! course for the course) and every server's `/metrics` shows GetCourse
//! calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, enroll, free_port, learner, published_course, register};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GetCourse calls answered OK, from one server's `/metrics`.
async fn get_course_calls(addr: &str) -> f64 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total")
                && l.contains("grpc_method=\"GetCourse\"")
                && l.contains("grpc_code=\"OK\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn enroll_calls_reach_every_course_server() {
    let shared = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/course.db?mode=rwc", shared.path().display());
    let mut courses = Vec::new();
    let mut metrics = Vec::new();
    for _ in 0..3 {
        let addr = format!("127.0.0.1:{}", free_port());
        courses.push(
            ServiceProcess::start(
                "academy-course",
                &[
                    ("ACADEMY_DATABASE_URL", &url),
                    ("ACADEMY_METRICS_LISTEN", &addr),
                ],
            )
            .await,
        );
        metrics.push(addr);
    }
    let (course_id, _) = published_course(courses[0].channel().await, "BAL-1", 1).await;
    let endpoints: Vec<String> = courses.iter().map(ServiceProcess::endpoint).collect();
    let learner_service = ServiceProcess::start(
        "academy-learner",
        &[("ACADEMY_COURSE_ENDPOINT", &endpoints.join(","))],
    )
    .await;
    let channel = learner_service.channel().await;
    // The balancer learns the addresses in the background.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..30 {
        let email = format!("bal{i}@example.az");
        let registered = register(channel.clone(), None, learner(&email, "Balance Probe")).await;
        enroll(channel.clone(), None, &registered.id, &course_id)
            .await
            .unwrap();
    }
    let mut calls = Vec::new();
    for addr in &metrics {
        calls.push(get_course_calls(addr).await);
    }
    assert_eq!(calls.iter().sum::<f64>(), 30.0, "{calls:?}");
    assert!(
        calls.iter().all(|&c| c > 0.0),
        "every course server answered some Enroll checks: {calls:?}"
    );
}
