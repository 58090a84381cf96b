//! Settings of the reporting service beyond the ones every service takes.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ReportingSettings {
    /// The course service, whose change feed is followed.
    #[arg(
        long,
        env = "ACADEMY_COURSE_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub course_endpoint: String,

    /// The learner service, whose change feed is followed.
    #[arg(
        long,
        env = "ACADEMY_LEARNER_ENDPOINT",
        default_value = "http://127.0.0.1:50052"
    )]
    pub learner_endpoint: String,
}
