//! The sizes of a suite run.

use std::time::Duration;

use crate::cli::Scale;

/// Everything that differs between a full run and the CI smoke.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) import_learners: u64,
    pub(crate) import_batch: u64,
    pub(crate) import_streams: usize,
    /// Learner ids the reads and writes use (and pgbench's key table).
    pub(crate) keys: usize,
    pub(crate) courses: usize,
    pub(crate) modules: usize,
    pub(crate) measure: Duration,
    pub(crate) warmup: Duration,
    pub(crate) bulk_learners: u64,
    pub(crate) enrollments_per_learner: u64,
    pub(crate) half: &'static str,
    pub(crate) naive_runs: u64,
    /// Measured reports per concurrency level: a report over the bulk
    /// program can take seconds, too long for a fixed window.
    pub(crate) report_calls: u64,
    pub(crate) feed_limit: Duration,
}

impl Params {
    pub(crate) fn of(scale: Scale) -> Self {
        match scale {
            Scale::Full => Self {
                import_learners: 191_000,
                import_batch: 10_000,
                import_streams: 2,
                keys: 50_000,
                courses: 20,
                modules: 5,
                measure: Duration::from_secs(10),
                warmup: Duration::from_secs(2),
                bulk_learners: 1_000_000,
                enrollments_per_learner: 5,
                half: "2025-H1",
                naive_runs: 2,
                report_calls: 400,
                feed_limit: Duration::from_secs(900),
            },
            Scale::Smoke => Self {
                import_learners: 2_000,
                import_batch: 500,
                import_streams: 2,
                keys: 1_000,
                courses: 4,
                modules: 3,
                measure: Duration::from_millis(500),
                warmup: Duration::from_millis(100),
                bulk_learners: 2_000,
                enrollments_per_learner: 5,
                half: "2025-H1",
                naive_runs: 1,
                report_calls: 16,
                feed_limit: Duration::from_secs(120),
            },
        }
    }
}
