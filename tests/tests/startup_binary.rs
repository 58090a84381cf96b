//! Issue #20, items 4 and 5, on the real binaries: a binary started while
//! its database is down waits NOT_SERVING (liveness SERVING) and never
//! exits, then serves once the database answers; a binary that does not
//! migrate stays NOT_SERVING while its schema is behind it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, binary, free_port};
use academy_proto::course::ListCoursesRequest;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_runtime::server::startup::LIVENESS;
use academy_testkit::TestDb;
use sea_orm::ConnectionTrait;
use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus;

const SERVING: Option<i32> = Some(ServingStatus::Serving as i32);
const NOT_SERVING: Option<i32> = Some(ServingStatus::NotServing as i32);

/// Waits until the server answers health checks at all.
async fn answering(process: &ServiceProcess) -> Option<i32> {
    for _ in 0..100 {
        if let Some(status) = process.health().await {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Checks for `seconds` that the process keeps running, NOT_SERVING and
/// live, and that calls meanwhile are UNAVAILABLE (retryable), not
/// UNIMPLEMENTED.
async fn waits_without_exiting(process: &mut ServiceProcess, seconds: u64) {
    assert_eq!(answering(process).await, NOT_SERVING);
    let refused = CourseServiceClient::new(process.channel().await)
        .list_courses(ListCoursesRequest::default())
        .await
        .expect_err("not ready");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    for _ in 0..seconds {
        assert!(
            process.child.try_wait().unwrap().is_none(),
            "the binary exited while waiting"
        );
        assert_eq!(process.health().await, NOT_SERVING);
        assert_eq!(process.health_of(LIVENESS).await, SERVING);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Forwards every connection accepted on `port` to PostgreSQL at `target`.
fn proxy(port: u16, target: String) -> tokio::task::JoinHandle<()> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

#[tokio::test]
async fn a_binary_started_while_the_database_is_down_waits_then_serves() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // The service reaches PostgreSQL through a port nothing listens on yet:
    // the database is "down" until the proxy opens.
    let (head, rest) = db.url.split_once('@').unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let port = free_port();
    let url = format!("{head}@127.0.0.1:{port}/{path}");
    let mut course = ServiceProcess::spawn(
        "academy-course",
        &[("ACADEMY_DATABASE_URL", &url), ("ACADEMY_LOG", "error")],
    );
    waits_without_exiting(&mut course, 4).await;

    let forward = proxy(port, host.to_owned());
    course.wait_until_serving(Duration::from_secs(30)).await;
    assert_eq!(course.health_of(LIVENESS).await, SERVING);
    CourseServiceClient::new(course.channel().await)
        .list_courses(ListCoursesRequest::default())
        .await
        .expect("serves once the database is back");
    forward.abort();
}

#[tokio::test]
async fn a_binary_that_does_not_migrate_waits_for_its_schema() {
    let db = TestDb::sqlite();
    let env = [
        ("ACADEMY_DATABASE_URL", db.url.as_str()),
        ("ACADEMY_MIGRATE", "off"),
        ("ACADEMY_LOG", "error"),
    ];
    let mut course = ServiceProcess::spawn("academy-course", &env);
    waits_without_exiting(&mut course, 3).await;

    // The migration Job's command, as a separate process.
    let migrated = tokio::process::Command::new(binary("academy-course"))
        .arg("migrate")
        .env("ACADEMY_DATABASE_URL", &db.url)
        .env("ACADEMY_LOG", "error")
        .status()
        .await
        .unwrap();
    assert!(migrated.success());
    course.wait_until_serving(Duration::from_secs(30)).await;
    CourseServiceClient::new(course.channel().await)
        .list_courses(ListCoursesRequest::default())
        .await
        .expect("serves on the current schema");
    drop(course);

    // One migration behind (as when a new binary meets the old schema):
    // the readiness check names it, and a new replica stays NOT_SERVING.
    let conn = academy_runtime::db::connect(&db.url).await.unwrap();
    let pending = academy_runtime::server::startup::pending::<academy_course::Migrator>(&conn)
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
    conn.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = (SELECT MAX(version) FROM seaql_migrations)",
    )
    .await
    .unwrap();
    let pending = academy_runtime::server::startup::pending::<academy_course::Migrator>(&conn)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let mut behind = ServiceProcess::spawn("academy-course", &env);
    waits_without_exiting(&mut behind, 2).await;
}
