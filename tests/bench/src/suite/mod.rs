//! `bench suite`: fresh PostgreSQL databases, the three release binaries,
//! every scenario with its limit measured right beside it, one table.
//!
//! Order matters in two places: the pgbench Enroll transaction writes
//! stand-in feed events, so it runs after the reporting feed has caught up
//! (and its follower has stopped); and the bulk program lives in databases
//! of its own, so the online scenarios' data stays small and exact.

use anyhow::Context;
use std::time::Duration;

use crate::cli::{Group, Scale, SuiteArgs};
use crate::pg::Pg;
use crate::report::{Memory, Report, Row};
use crate::runner::{LoadSpec, Stop};
use crate::services::{Launcher, Running, Spec};

mod online;
mod reporting;
mod scale;

pub(crate) use scale::Params;

/// Peak RSS target for every service under load.
const RSS_TARGET_MIB: f64 = 100.0;

/// Shared state of one run.
pub(crate) struct Suite {
    pub(crate) params: Params,
    pub(crate) pg: Pg,
    pub(crate) launcher: Launcher,
    pub(crate) only: Vec<Group>,
    pub(crate) base_port: u16,
    pub(crate) prefix: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) notes: Vec<String>,
    pub(crate) memory: Vec<Memory>,
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suite")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Suite {
    pub(crate) fn wants(&self, group: Group) -> bool {
        self.only.is_empty() || self.only.contains(&group)
    }

    pub(crate) fn spec(&self, concurrency: usize) -> LoadSpec {
        LoadSpec {
            concurrency,
            warmup: self.params.warmup,
            stop: Stop::After(self.params.measure),
        }
    }

    pub(crate) fn database(&self, name: &str) -> String {
        format!("{}_{name}", self.prefix)
    }

    /// Starts `academy-<name>` on port `base + offset` with database `db`.
    pub(crate) async fn start(
        &self,
        name: &'static str,
        label: &str,
        offset: u16,
        db: &str,
        learner_offset: u16,
    ) -> anyhow::Result<Running> {
        let port = |o: u16| format!("http://127.0.0.1:{}", self.base_port + o);
        self.launcher
            .start(Spec {
                name,
                label: label.to_owned(),
                addr: ([127, 0, 0, 1], self.base_port + offset).into(),
                database_url: self.pg.url(db),
                course_endpoint: port(0),
                learner_endpoint: port(learner_offset),
            })
            .await
    }

    /// Keeps a service's peak memory for the table.
    pub(crate) fn remember_memory(&mut self, service: &Running) {
        let peak = service.peak_rss_mib();
        self.memory.push(Memory {
            service: service.label.clone(),
            peak_rss_mib: peak,
            met: peak < RSS_TARGET_MIB,
        });
    }

    /// Keeps a row for the table and prints it at once, so a run that
    /// fails later still shows what it measured.
    pub(crate) fn push(&mut self, row: Row) {
        let latency = row.latency_ms.as_ref().map_or_else(String::new, |l| {
            format!(", p50 {:.2} ms, p99 {:.2} ms", l.p50, l.p99)
        });
        let limit = match (&row.limit, row.ratio) {
            (Some(limit), Some(ratio)) => {
                format!(", {} {:.0} (ratio {ratio:.2})", limit.name, limit.value)
            }
            _ => String::new(),
        };
        println!(
            "bench: {} c={}: {:.3} {}{latency}{limit}",
            row.scenario,
            row.concurrency
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            row.throughput,
            row.unit
        );
        self.rows.push(row);
    }

    pub(crate) fn say(&mut self, line: String) {
        println!("bench: {line}");
        self.notes.push(line);
    }
}

pub(crate) async fn run(args: SuiteArgs) -> anyhow::Result<()> {
    let mut params = Params::of(args.scale);
    if let Some(length) = args.duration {
        params.measure = length;
    }
    if let Some(learners) = args.bulk_learners {
        params.bulk_learners = learners;
    }
    let scale = match args.scale {
        Scale::Full => "full",
        Scale::Smoke => "smoke",
    };
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let launcher = Launcher::beside_self(args.out_dir.join("logs"), "warn".into())?;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut suite = Suite {
        params,
        pg: args.pg,
        launcher,
        only: args.only,
        base_port: args.base_port,
        prefix: format!("bench_{scale}"),
        rows: Vec::new(),
        notes: Vec::new(),
        memory: Vec::new(),
    };
    let online = [
        Group::Grpc,
        Group::Import,
        Group::PointReads,
        Group::Writes,
        Group::Feed,
    ];
    if online.iter().any(|g| suite.wants(*g)) {
        online::run(&mut suite).await?;
    }
    if suite.wants(Group::Reports) {
        reporting::run(&mut suite).await?;
    }
    let report = Report {
        scale: scale.to_owned(),
        started_at,
        machine: machine(),
        rows: suite.rows,
        memory: suite.memory,
        notes: suite.notes,
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    std::fs::write(args.out_dir.join(format!("{scale}.md")), &markdown)?;
    std::fs::write(
        args.out_dir.join(format!("{scale}.json")),
        serde_json::to_vec_pretty(&report)?,
    )?;
    println!(
        "bench: results in {}/{scale}.md and {scale}.json",
        args.out_dir.display()
    );
    Ok(())
}

/// CPU model, core count and memory, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {memory_gib:.0} GiB")
}

/// Waits a moment between phases so one's tail does not land in the next.
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}
