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

    /// Breakdown and cross-tab counts below this (1 to N-1) are withheld
    /// from callers without the `reports.exact` scope.
    #[arg(
        long,
        env = "ACADEMY_MIN_CELL_SIZE",
        default_value_t = 5,
        value_parser = clap::value_parser!(i64).range(1..=1000)
    )]
    pub min_cell_size: i64,
}
