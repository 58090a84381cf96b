//! An in-process server task on an ephemeral port, and the one wait until a server is SERVING.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

/// One running server task, SERVING once started, stopped on drop.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Serves on a fresh ephemeral port.
    pub async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(TcpListener, CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self::start_at("127.0.0.1:0".parse().unwrap(), serve).await
    }

    /// Serves on `addr` (to restart a server where it was).
    pub async fn start_at<F, Fut>(addr: SocketAddr, serve: F) -> Self
    where
        F: FnOnce(TcpListener, CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, shutdown.clone()));
        let server = Self {
            addr,
            shutdown,
            task: Some(task),
        };
        wait_until_serving(addr).await;
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        channel(self.addr).await
    }

    /// Stops the server and waits for it to finish draining; panics if it
    /// ended with an error.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A connected channel to the server at `addr`.
pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Waits up to ten seconds for the in-process server at `addr` to report
/// SERVING (overall health); panics if it does not.
pub async fn wait_until_serving(addr: SocketAddr) {
    wait_until_serving_within(addr, Duration::from_secs(10)).await;
}

/// Waits up to `limit` for `grpc.health.v1` at `addr` to report the whole
/// server SERVING; panics if it does not. A real binary may need longer
/// than an in-process server (migrations on a loaded machine), and may
/// answer health on a plaintext port of its own.
pub async fn wait_until_serving_within(addr: SocketAddr, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            let reply = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if reply.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {addr} did not become SERVING within {limit:?}");
}
