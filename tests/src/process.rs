//! One real service binary as a child process: started on a free port in a
//! temp directory, waited for until SERVING, stopped or killed and started
//! again where it was, and killed when the test ends.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// How long a binary may take to become SERVING: migrations on a loaded
/// two-core machine can take well over the test kit's in-process ten seconds.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);

/// Path of a workspace binary, next to the test executable's `deps/` folder.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `127.0.0.1` on a port nothing listens on right now.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// A channel that connects on first use and reconnects after the server
/// comes back; every call on it gives up after `timeout`.
pub fn lazy_channel(url: &str, timeout: Duration) -> Channel {
    Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .timeout(timeout)
        .connect_lazy()
}

/// A running service binary, killed on drop.
#[derive(Debug)]
pub struct ServiceProcess {
    pub binary: String,
    pub addr: SocketAddr,
    /// Where `grpc.health.v1` answers in plaintext: `ACADEMY_HEALTH_LISTEN`
    /// when the test sets it (the gRPC port may speak only TLS), else `addr`.
    pub health_addr: SocketAddr,
    pub child: Child,
    pub data_dir: TempDir,
    /// The settings the test gave, kept for [`ServiceProcess::restart`].
    env: Vec<(String, String)>,
    /// Where stdout and stderr go (appended), if not to the test's output.
    log_path: Option<PathBuf>,
}

impl ServiceProcess {
    /// Starts `binary` with its data in a new temp dir and `extra_env` set.
    pub async fn start(binary_name: &str, extra_env: &[(&str, &str)]) -> Self {
        let process = Self::spawn(binary_name, extra_env);
        process.wait_until_serving(STARTUP_LIMIT).await;
        process
    }

    /// Like [`ServiceProcess::start`], with the child's stdout and stderr
    /// appended to the file at `log_path` (created if missing) instead of
    /// the test's own output, so a test can read what the service logged.
    pub async fn start_logged(
        binary_name: &str,
        extra_env: &[(&str, &str)],
        log_path: &Path,
    ) -> Self {
        let process = Self::spawn_with(binary_name, extra_env, Some(log_path));
        process.wait_until_serving(STARTUP_LIMIT).await;
        process
    }

    /// Starts `binary` without waiting for it to be SERVING (to watch a
    /// binary that waits for its database or its schema).
    pub fn spawn(binary_name: &str, extra_env: &[(&str, &str)]) -> Self {
        Self::spawn_with(binary_name, extra_env, None)
    }

    fn spawn_with(binary_name: &str, extra_env: &[(&str, &str)], log_path: Option<&Path>) -> Self {
        let addr = free_addr();
        // The last setting of a name wins, as it does for the child.
        let health_addr = extra_env
            .iter()
            .rfind(|(key, _)| *key == "ACADEMY_HEALTH_LISTEN")
            .map_or(addr, |(_, value)| value.parse().unwrap());
        let data_dir = tempfile::tempdir().unwrap();
        let env: Vec<(String, String)> = extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let child = launch(binary_name, addr, data_dir.path(), &env, log_path);
        Self {
            binary: binary_name.to_owned(),
            addr,
            health_addr,
            child,
            data_dir,
            env,
            log_path: log_path.map(Path::to_owned),
        }
    }

    /// Sets (or replaces) settings for the next [`ServiceProcess::restart`].
    pub fn set_env(&mut self, env: &[(&str, &str)]) {
        for (key, value) in env {
            self.env.retain(|(k, _)| k != key);
            self.env.push(((*key).to_owned(), (*value).to_owned()));
        }
    }

    /// SIGKILL: no drain, no flush, nothing the service can do about it.
    /// Does nothing to a process that has already exited.
    pub async fn kill(&mut self) {
        if self.child.try_wait().unwrap().is_none() {
            self.child.kill().await.unwrap();
        }
    }

    /// SIGTERM, as an orchestrator sends it; see [`ServiceProcess::exit`].
    pub fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }

    /// Waits up to `limit` for the process to exit; panics if it does not.
    pub async fn exit(&mut self, limit: Duration) -> ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {limit:?}", self.binary))
            .unwrap()
    }

    /// SIGTERM, then waits up to `limit` for a clean exit (status 0).
    pub async fn stop(&mut self, limit: Duration) {
        self.terminate();
        let status = self.exit(limit).await;
        assert!(status.success(), "{} exit status {status:?}", self.binary);
    }

    /// Starts the stopped or killed binary again on the same address, with
    /// the same data dir and settings, and waits until it is SERVING.
    pub async fn restart(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_some(),
            "{} still running",
            self.binary
        );
        // The killed process's listener can hold the address for a moment.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpListener::bind(self.addr).is_err() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = launch(
            &self.binary,
            self.addr,
            self.data_dir.path(),
            &self.env,
            self.log_path.as_deref(),
        );
        self.wait_until_serving(STARTUP_LIMIT).await;
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("service running")
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// A channel that connects on first use and reconnects after a restart;
    /// every call on it gives up after `timeout`.
    pub fn lazy_channel(&self, timeout: Duration) -> Channel {
        lazy_channel(&self.endpoint(), timeout)
    }

    /// The health status of the whole server, or `None` if it does not answer.
    pub async fn health(&self) -> Option<i32> {
        self.health_of("").await
    }

    /// The health status of `service` (a name in `grpc.health.v1`), or
    /// `None` if the server does not answer or does not know the name.
    pub async fn health_of(&self, service: &str) -> Option<i32> {
        let channel = Channel::from_shared(format!("http://{}", self.health_addr))
            .unwrap()
            .connect()
            .await
            .ok()?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .ok()?;
        Some(reply.into_inner().status)
    }

    /// Waits up to `limit` for the whole server to be SERVING, asking its
    /// plaintext health port; panics if not.
    pub async fn wait_until_serving(&self, limit: Duration) {
        academy_testkit::server::wait_until_serving_within(self.health_addr, limit).await;
    }
}

/// Spawns `binary_name` listening on `addr` with its data in `data_dir`;
/// `env` is set after the defaults, so it overrides them.
fn launch(
    binary_name: &str,
    addr: SocketAddr,
    data_dir: &Path,
    env: &[(String, String)],
    log_path: Option<&Path>,
) -> Child {
    let mut command = Command::new(binary(binary_name));
    command
        .env("ACADEMY_LISTEN", addr.to_string())
        .env("ACADEMY_DATA_DIR", data_dir)
        .env("ACADEMY_LOG", "warn")
        // These suites test everything but auth, with plain clients;
        // auth_binary.rs turns it on (extra_env overrides this).
        .env("ACADEMY_AUTH_DISABLED", "true")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    if let Some(path) = log_path {
        // One file, opened for appending, for both streams: the two
        // descriptors share it and neither overwrites the other's lines.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|err| panic!("open log file {}: {err}", path.display()));
        command
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
    }
    command.spawn().unwrap()
}
