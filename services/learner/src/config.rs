//! Settings of the learner service beyond the ones every service takes.

use clap::Args;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct LearnerSettings {
    /// Where the course service listens; Enroll asks it about courses and
    /// programs. The host is resolved again every 10 s and calls are spread
    /// over every address (a headless Service: every pod); several URLs may
    /// be given, comma-separated.
    #[arg(
        long,
        env = "ACADEMY_COURSE_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub course_endpoint: String,

    /// Deadline of each call to the course service, in milliseconds.
    #[arg(long, env = "ACADEMY_COURSE_TIMEOUT_MS", default_value_t = 3000)]
    pub course_timeout_ms: u64,

    /// Rows per transaction in ImportLearners and BulkEnroll.
    #[arg(long, env = "ACADEMY_IMPORT_BATCH_SIZE", default_value_t = 500)]
    pub import_batch_size: usize,

    /// Most rows one ImportLearners, BulkEnroll or BulkRecordProgress
    /// stream may carry; longer streams end with RESOURCE_EXHAUSTED after
    /// the rows before the limit (already committed) and must be split.
    #[arg(long, env = "ACADEMY_MAX_STREAM_ROWS", default_value_t = 1_000_000)]
    pub max_stream_rows: usize,

    /// Longest wait for the next row of an ImportLearners, BulkEnroll or
    /// BulkRecordProgress stream, in seconds; an idle stream ends with
    /// DEADLINE_EXCEEDED after the rows before (committed).
    #[arg(long, env = "ACADEMY_STREAM_IDLE_TIMEOUT_SECS", default_value_t = 30)]
    pub stream_idle_timeout_secs: u64,
}

impl LearnerSettings {
    /// Defaults pointing at a course service on `course_endpoint`; for tests.
    pub fn new(course_endpoint: impl Into<String>) -> Self {
        Self {
            course_endpoint: course_endpoint.into(),
            course_timeout_ms: 3000,
            import_batch_size: 500,
            max_stream_rows: 1_000_000,
            stream_idle_timeout_secs: 30,
        }
    }

    pub fn stream_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.stream_idle_timeout_secs.max(1))
    }

    pub fn course_timeout(&self) -> Duration {
        Duration::from_millis(self.course_timeout_ms)
    }
}
