//! The end-to-end harness: real service binaries as child processes
//! ([`ServiceProcess`], three of them wired together as a [`Stack`]), the
//! fixtures the tests create over gRPC, and the one polling loop they wait
//! with. Every suite under `tests/` (the reliability one included) starts
//! its services here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod process;
mod stack;

pub use fixtures::*;
pub use process::{ServiceProcess, binary, free_addr, free_port, lazy_channel};
pub use stack::{Stack, StackEnv};

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` every 100 ms until it is true or `limit` passes; returns
/// how long it took, or `None` on time-out.
pub async fn wait_for<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
