//! `academy-stack`: starts the three services as child processes, stops
//! them all on Ctrl-C (no orphans), refuses a taken port naming it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The binary under test, built by cargo for this test.
const STACK: &str = env!("CARGO_BIN_EXE_academy-stack");

/// A base port with the two after it free.
fn free_base_port() -> u16 {
    loop {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base < 65_000
            && (1..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return base;
        }
    }
}

fn alive(pid: u32) -> bool {
    // Signal 0 checks existence; a zombie still answers, so read its state.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.split_whitespace()
                .nth(2)
                .is_none_or(|state| state != "Z")
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn starts_three_services_and_stops_them_all_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let mut stack = Command::new(STACK)
        .args(["--base-port", &base.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("ACADEMY_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(stack.stdout.take().unwrap()).lines();
    let serving = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("serving; Ctrl-C stops") {
                return;
            }
        }
        panic!("stack exited before serving");
    });
    serving.await.expect("stack serving within 60 s");
    for db in ["course.db", "learner.db", "reporting.db"] {
        assert!(dir.path().join(db).exists(), "{db} made in the data dir");
    }
    let children: Vec<u32> = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        stack.id().unwrap(),
        stack.id().unwrap()
    ))
    .unwrap()
    .split_whitespace()
    .map(|p| p.parse().unwrap())
    .collect();
    assert_eq!(children.len(), 3, "three service processes");

    kill(Pid::from_raw(stack.id().unwrap() as i32), Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(40), stack.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    for child in children {
        assert!(!alive(child), "service process {child} left behind");
    }
}

#[tokio::test]
async fn names_a_taken_port_and_exits_non_zero() {
    let base = free_base_port();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", base + 1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(STACK)
        .args(["--base-port", &base.to_string(), "--data-dir"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "port {} for the learner service is taken",
            base + 1
        )),
        "{stderr}"
    );
}
