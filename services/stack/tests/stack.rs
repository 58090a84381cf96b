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

/// A running stack and its standard output, line by line.
struct Stack {
    process: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Stack {
    fn start(dir: &std::path::Path, base: u16, extra: &[&str]) -> Self {
        Self::start_with_env(dir, base, extra, &[])
    }

    /// `env` goes to the stack and, through it, to the three services.
    fn start_with_env(
        dir: &std::path::Path,
        base: u16,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut process = Command::new(STACK)
            .args(["--base-port", &base.to_string(), "--data-dir"])
            .arg(dir)
            .args(extra)
            .env("ACADEMY_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(process.stdout.take().unwrap()).lines();
        Self { process, lines }
    }

    /// Reads output until a line contains `text`; returns the lines read.
    async fn wait_for(&mut self, text: &str, within: Duration) -> Vec<String> {
        let mut seen = Vec::new();
        tokio::time::timeout(within, async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                let found = line.contains(text);
                seen.push(line);
                if found {
                    return;
                }
            }
            panic!("stack exited before printing {text:?}: {seen:#?}");
        })
        .await
        .unwrap_or_else(|_| panic!("no {text:?} within {within:?}"));
        seen
    }

    fn service_pids(&self) -> Vec<u32> {
        let pid = self.process.id().unwrap();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }

    /// Ctrl-C: the stack exits 0 and leaves no service process behind.
    async fn interrupt_and_check_no_orphans(mut self) {
        let children = self.service_pids();
        assert_eq!(children.len(), 3, "three service processes");
        kill(
            Pid::from_raw(self.process.id().unwrap() as i32),
            Signal::SIGINT,
        )
        .unwrap();
        // Drain output so the stack never blocks on a full pipe while stopping.
        tokio::spawn(async move { while let Ok(Some(_)) = self.lines.next_line().await {} });
        let status = tokio::time::timeout(Duration::from_secs(40), self.process.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "{status:?}");
        for child in children {
            assert!(!alive(child), "service process {child} left behind");
        }
    }
}

#[tokio::test]
async fn starts_three_services_and_stops_them_all_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = Stack::start(dir.path(), free_base_port(), &[]);
    stack
        .wait_for("serving; Ctrl-C stops", Duration::from_secs(60))
        .await;
    for db in ["course.db", "learner.db", "reporting.db"] {
        assert!(dir.path().join(db).exists(), "{db} made in the data dir");
    }
    stack.interrupt_and_check_no_orphans().await;
}

/// The demo at small scale: what reporting says about the reported half
/// equals what the loader generated, row for row. The services recycle
/// every connection after 2 s (the default is 300 s), so the load spans
/// many connections: it sends bounded streams on whatever connection is
/// current, as it must on a machine slower than the limit. Its output is
/// captured here, so progress comes as plain lines.
#[tokio::test]
async fn the_demo_report_equals_the_generated_data() {
    use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
    use academy_proto::reporting::{
        Dimension, GetBreakdownRequest, GetProgramSummaryRequest, Period,
    };

    let dir = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let mut stack = Stack::start_with_env(
        dir.path(),
        base,
        &["--demo", "--demo-learners", "2500"],
        &[("ACADEMY_MAX_CONNECTION_AGE_SECS", "2")],
    );
    let output = stack
        .wait_for("serving; Ctrl-C stops", Duration::from_secs(300))
        .await;
    for phase in [
        "learners: 2500/2500 sent in",
        "progress: ",
        "reporting catches up: ",
    ] {
        assert!(
            output
                .iter()
                .any(|l| l.starts_with(&format!("  {phase}")) && l.contains(" s")),
            "no plain progress line for {phase:?}: {output:#?}"
        );
    }
    assert!(
        output
            .iter()
            .all(|l| !l.contains('\r') && !l.contains('\x1b')),
        "terminal control characters in captured output: {output:#?}"
    );
    // About 6,000 progress rows: more than one bounded stream.
    let progress = output
        .iter()
        .find(|l| l.contains(" recorded, "))
        .expect("the progress summary line");
    assert!(
        progress.contains(" streams") && !progress.contains("(1 stream"),
        "{progress}"
    );
    assert!(
        output
            .iter()
            .any(|l| l.contains("report check: the 2025-H2 summary")),
        "{output:#?}"
    );
    assert!(
        output.iter().any(|l| l.contains("learners: 2500 created")),
        "{output:#?}"
    );

    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("demo-expected.json")).unwrap())
            .unwrap();
    // Reports need a token: the stack's development token.
    let token = std::fs::read_to_string(dir.path().join("dev.token")).unwrap();
    let bearer = academyctl::client::Bearer::new(Some(&token)).unwrap();
    let endpoint = format!("http://127.0.0.1:{}", base + 2);
    let mut client = ReportingServiceClient::new(
        academyctl::client::connect(&endpoint, &bearer)
            .await
            .unwrap(),
    );
    let period = || {
        Some(Period {
            half: "2025-H2".into(),
            ..Default::default()
        })
    };
    let summary = client
        .get_program_summary(GetProgramSummaryRequest {
            program_id: String::new(),
            period: period(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.registered_learners, 2500);
    assert_eq!(summary.registered_learners, expected["registered_learners"]);
    assert_eq!(summary.active_learners, expected["active_learners"]);
    let total = &expected["total"];
    assert_eq!(summary.new_learners, total["new_learners"]);
    assert_eq!(summary.enrollments, total["enrollments"]);
    assert_eq!(summary.completions, total["completions"]);
    assert_eq!(summary.certificates_issued, total["completions"]);
    assert_eq!(
        (summary.learning_hours * 60.0).round() as i64,
        total["learning_minutes"]
    );
    assert!(
        summary.enrollments > 0 && summary.completions > 0,
        "{summary:?}"
    );

    let rows = client
        .get_breakdown(GetBreakdownRequest {
            program_id: String::new(),
            period: period(),
            dimension: Dimension::Region as i32,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .rows;
    // The 14 regions and "unknown" (listed even at zero).
    assert_eq!(rows.len(), 15);
    for row in rows {
        let generated = &expected["regions"][&row.label];
        let figure = |name: &str| generated[name].as_i64().unwrap_or(0);
        assert_eq!(row.new_learners, figure("new_learners"), "{}", row.label);
        assert_eq!(row.enrollments, figure("enrollments"), "{}", row.label);
        assert_eq!(row.completions, figure("completions"), "{}", row.label);
    }
    stack.interrupt_and_check_no_orphans().await;
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
