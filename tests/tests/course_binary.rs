//! The real `academy-course` binary: start, serve, migrate, stop on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, binary};
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{CreateSkillRequest, ListSkillsRequest, Skill};
use std::time::Duration;

#[tokio::test]
async fn serves_keeps_data_across_restarts_and_exits_cleanly_on_sigterm() {
    let mut first = ServiceProcess::start("academy-course", &[]).await;
    let mut client = CourseServiceClient::new(first.channel().await);
    client
        .create_skill(CreateSkillRequest {
            skill: Some(Skill {
                name: "Cybersecurity".into(),
                category: "Security".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    assert!(
        first.data_dir.path().join("course.db").exists(),
        "SQLite file made on first start"
    );

    first.terminate();
    let status = first.exit(Duration::from_secs(25)).await;
    assert!(status.success(), "exit status {status:?}");

    // Same data dir, new process: the skill is still there.
    first.restart().await;
    let mut client = CourseServiceClient::new(first.channel().await);
    let skills = client
        .list_skills(ListSkillsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .skills;
    assert_eq!(
        skills.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Cybersecurity"]
    );
}

#[tokio::test]
async fn migrate_subcommand_applies_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(binary("academy-course"))
        .arg("migrate")
        .env("ACADEMY_DATA_DIR", dir.path())
        .env("ACADEMY_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("course.db").exists());
}

#[tokio::test]
async fn refuses_to_start_when_the_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(binary("academy-course"))
        .env("ACADEMY_LISTEN", &addr)
        .env("ACADEMY_DATA_DIR", dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&addr), "names the address: {stderr}");
}
