//! Helpers for end-to-end tests: run a real service binary as a child
//! process on a free port in a temp directory, wait until it is SERVING,
//! and kill it when the test ends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

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

/// A running service binary, killed on drop.
#[derive(Debug)]
pub struct ServiceProcess {
    pub addr: SocketAddr,
    /// Where `grpc.health.v1` answers in plaintext: `ACADEMY_HEALTH_LISTEN`
    /// when the test sets it (the gRPC port may speak only TLS), else `addr`.
    pub health_addr: SocketAddr,
    pub child: Child,
    pub data_dir: TempDir,
}

impl ServiceProcess {
    /// Starts `binary` with its data in a new temp dir and `extra_env` set.
    pub async fn start(binary_name: &str, extra_env: &[(&str, &str)]) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        Self::start_at(binary_name, addr, tempfile::tempdir().unwrap(), extra_env).await
    }

    /// Like [`ServiceProcess::start`], with the child's stdout and stderr
    /// appended to the file at `log_path` (created if missing) instead of
    /// the test's own output, so a test can read what the service logged.
    pub async fn start_logged(
        binary_name: &str,
        extra_env: &[(&str, &str)],
        log_path: &Path,
    ) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        Self::launch(binary_name, addr, data_dir, extra_env, Some(log_path)).await
    }

    /// Starts `binary` on `addr` with its data in `data_dir` (to restart a
    /// service where it was).
    pub async fn start_at(
        binary_name: &str,
        addr: SocketAddr,
        data_dir: TempDir,
        extra_env: &[(&str, &str)],
    ) -> Self {
        Self::launch(binary_name, addr, data_dir, extra_env, None).await
    }

    async fn launch(
        binary_name: &str,
        addr: SocketAddr,
        data_dir: TempDir,
        extra_env: &[(&str, &str)],
        log_path: Option<&Path>,
    ) -> Self {
        let process = Self::spawn_at(binary_name, addr, data_dir, extra_env, log_path);
        process.wait_until_serving(Duration::from_secs(30)).await;
        process
    }

    /// Starts `binary` without waiting for it to be SERVING (to watch a
    /// binary that waits for its database or its schema).
    pub fn spawn(binary_name: &str, extra_env: &[(&str, &str)]) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        Self::spawn_at(
            binary_name,
            addr,
            tempfile::tempdir().unwrap(),
            extra_env,
            None,
        )
    }

    fn spawn_at(
        binary_name: &str,
        addr: SocketAddr,
        data_dir: TempDir,
        extra_env: &[(&str, &str)],
        log_path: Option<&Path>,
    ) -> Self {
        let mut command = Command::new(binary(binary_name));
        command
            .env("ACADEMY_LISTEN", addr.to_string())
            .env("ACADEMY_DATA_DIR", data_dir.path())
            .env("ACADEMY_LOG", "warn")
            // These suites test everything but auth, with plain clients;
            // auth_binary.rs turns it on (extra_env overrides this).
            .env("ACADEMY_AUTH_DISABLED", "true")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for (key, value) in extra_env {
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
        let child = command.spawn().unwrap();
        let health_addr = extra_env
            .iter()
            .find(|(key, _)| *key == "ACADEMY_HEALTH_LISTEN")
            .map_or(addr, |(_, value)| value.parse().unwrap());
        Self {
            addr,
            health_addr,
            child,
            data_dir,
        }
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

    /// Waits up to `limit` for the whole server to be SERVING; panics if not.
    pub async fn wait_until_serving(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if self.health().await == Some(ServingStatus::Serving as i32) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("service at {} did not become SERVING", self.addr);
    }
}

/// Creates and publishes a course with `modules` modules on the course
/// service behind `channel`: (course id, module ids).
pub async fn published_course(
    channel: Channel,
    code: &str,
    modules: usize,
) -> (String, Vec<String>) {
    use academy_proto::course::course_service_client::CourseServiceClient;
    use academy_proto::course::{
        Course, CourseLevel, CourseModule, CreateCourseRequest, PublishCourseRequest,
    };
    let mut client = CourseServiceClient::new(channel);
    let created = client
        .create_course(CreateCourseRequest {
            course: Some(Course {
                code: code.into(),
                title: format!("Course {code}"),
                provider: "Coursera".into(),
                language: "az".into(),
                level: CourseLevel::Beginner as i32,
                estimated_hours: 3.0,
                modules: (0..modules)
                    .map(|m| CourseModule {
                        title: format!("Module {m}"),
                        estimated_minutes: 30,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    client
        .publish_course(PublishCourseRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let modules = created.modules.iter().map(|m| m.id.clone()).collect();
    (created.id, modules)
}
