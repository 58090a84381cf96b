//! Starts the real service binaries (the release builds beside `bench`),
//! waits until each is SERVING, and samples each one's resident memory
//! (VmRSS in /proc/<pid>/status) while it runs.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

/// How often resident memory is sampled.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// Where to find the binaries and what every service gets.
#[derive(Debug, Clone)]
pub(crate) struct Launcher {
    pub(crate) bin_dir: PathBuf,
    pub(crate) log_dir: PathBuf,
    pub(crate) log: String,
}

/// One service's settings.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// `course`, `learner` or `reporting`; the binary is `academy-<name>`.
    pub(crate) name: &'static str,
    /// Distinguishes two instances of one service in log file names.
    pub(crate) label: String,
    pub(crate) addr: SocketAddr,
    pub(crate) database_url: String,
    pub(crate) course_endpoint: String,
    pub(crate) learner_endpoint: String,
}

/// A running service; killed when dropped.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) label: String,
    pub(crate) endpoint: String,
    child: Child,
    peak_rss_kib: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Launcher {
    /// The directory of the running `bench` binary, where cargo puts the
    /// service binaries of the same profile.
    pub(crate) fn beside_self(log_dir: PathBuf, log: String) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let bin_dir = exe
            .parent()
            .context("the bench binary has no directory")?
            .to_owned();
        Ok(Self {
            bin_dir,
            log_dir,
            log,
        })
    }

    /// `academy-<name> migrate` on `database_url`: the schema, no server.
    pub(crate) async fn migrate(&self, name: &str, database_url: &str) -> anyhow::Result<()> {
        let binary = self.bin_dir.join(format!("academy-{name}"));
        let output = Command::new(&binary)
            .arg("migrate")
            .env("ACADEMY_DATABASE_URL", database_url)
            .env("ACADEMY_AUTH_DISABLED", "true")
            .env("ACADEMY_LOG", &self.log)
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("cannot run {}", binary.display()))?;
        if !output.status.success() {
            anyhow::bail!(
                "{} migrate failed: {}",
                binary.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    pub(crate) async fn start(&self, spec: Spec) -> anyhow::Result<Running> {
        let binary = self.bin_dir.join(format!("academy-{}", spec.name));
        if !binary.exists() {
            anyhow::bail!(
                "{} is missing: build it first (cargo build --release -p academy-{})",
                binary.display(),
                spec.name
            );
        }
        std::fs::create_dir_all(&self.log_dir)?;
        let log_path = self.log_dir.join(format!("{}.log", spec.label));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot write {}", log_path.display()))?;
        let child = Command::new(&binary)
            .env("ACADEMY_LISTEN", spec.addr.to_string())
            .env("ACADEMY_DATABASE_URL", &spec.database_url)
            .env("ACADEMY_COURSE_ENDPOINT", &spec.course_endpoint)
            .env("ACADEMY_LEARNER_ENDPOINT", &spec.learner_endpoint)
            .env("ACADEMY_MIGRATE", "auto")
            // Auth is measured by the e2e suites; here it would only add a
            // constant HS256 check per call to both sides of every ratio.
            .env("ACADEMY_AUTH_DISABLED", "true")
            .env("ACADEMY_LOG", &self.log)
            .env("ACADEMY_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let peak_rss_kib = Arc::new(AtomicU64::new(0));
        let sampler = tokio::spawn(sample_rss(child.id(), Arc::clone(&peak_rss_kib)));
        let mut running = Running {
            label: spec.label,
            endpoint: format!("http://{}", spec.addr),
            child,
            peak_rss_kib,
            sampler,
        };
        running.wait_until_serving(&log_path).await?;
        Ok(running)
    }
}

impl Running {
    async fn wait_until_serving(&mut self, log_path: &Path) -> anyhow::Result<()> {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "{} exited during start-up ({status}); see {}",
                    self.label,
                    log_path.display()
                );
            }
            if serving(&self.endpoint).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("{} did not become SERVING within 60 s", self.label)
    }

    pub(crate) fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }

    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        self.sampler.abort();
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }
}

async fn serving(endpoint: &str) -> bool {
    let Ok(endpoint) = Channel::from_shared(endpoint.to_owned()) else {
        return false;
    };
    let Ok(channel) = endpoint.connect().await else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

async fn sample_rss(pid: Option<u32>, peak: Arc<AtomicU64>) {
    let Some(pid) = pid else { return };
    let path = format!("/proc/{pid}/status");
    loop {
        if let Some(kib) = vm_rss_kib(&path) {
            peak.fetch_max(kib, Ordering::Relaxed);
        }
        tokio::time::sleep(RSS_SAMPLE_EVERY).await;
    }
}

fn vm_rss_kib(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
