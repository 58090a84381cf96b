//! The command line: `bench suite` runs the scenarios and their limits on
//! fresh PostgreSQL databases; `bench load` drives one call against a
//! server that is already running, like ghz.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

use crate::pg::Pg;

#[derive(Debug, Parser)]
#[command(version, about = "Academy's load generator and benchmark suite")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the release binaries on fresh PostgreSQL databases and run the
    /// scenarios, their limits and the ratios.
    Suite(SuiteArgs),
    /// Drive one RPC against a running server and print its figures.
    Load(LoadArgs),
}

/// How big a suite run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scale {
    /// Issue #9's sizes: 191,000 imported learners, a 1,000,000-learner /
    /// 5,000,000-enrollment program, 10 s per measurement.
    Full,
    /// Seconds and small data: proves every scenario still runs (CI).
    Smoke,
}

/// The groups of scenarios, each with its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Group {
    /// The empty unary call (gRPC alone).
    Grpc,
    /// ImportLearners: learners per second.
    Import,
    /// GetLearner and GetCourse at 1, 16, 64, against pgbench.
    PointReads,
    /// Enroll and RecordProgress at 16 and 64, Enroll against pgbench.
    Writes,
    /// The reporting feed's catch-up from sequence 0.
    Feed,
    /// Every report kind on the bulk program and the platform at 1 and 16
    /// clients (summary and regional breakdown against the naive SQL), and
    /// the reporting replica's cold start.
    Reports,
}

#[derive(Debug, Args)]
pub(crate) struct SuiteArgs {
    #[arg(long, value_enum, default_value = "full")]
    pub(crate) scale: Scale,

    /// Run only these groups (comma-separated); the data they need is
    /// still made. Default: all.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) only: Vec<Group>,

    #[command(flatten)]
    pub(crate) pg: Pg,

    /// First of the ports the services take (five in a row).
    #[arg(long, default_value_t = 47051)]
    pub(crate) base_port: u16,

    /// Where the services' logs and the results go.
    #[arg(long, default_value = "target/bench")]
    pub(crate) out_dir: PathBuf,

    /// Override the measured time of every run, e.g. `5s`.
    #[arg(long, value_parser = parse_duration)]
    pub(crate) duration: Option<Duration>,

    /// Override the bulk program's learner count (5 enrollments each).
    #[arg(long)]
    pub(crate) bulk_learners: Option<u64>,
}

/// Which call `bench load` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Call {
    /// grpc.health.v1.Health/Check (no handler work, no database).
    Health,
    /// academy.learner.v1.LearnerService/GetLearner on `--id`.
    GetLearner,
    /// academy.course.v1.CourseService/GetCourse on `--id`.
    GetCourse,
    /// academy.reporting.v1.ReportingService/GetProgramSummary for `--half`.
    GetProgramSummary,
    /// GetBreakdown by `--dimension` for `--half`.
    GetBreakdown,
    /// GetFunnel for `--half`.
    GetFunnel,
    /// GetTimeSeries(ACTIVE_LEARNERS) by month over the two years ending with `--half`.
    GetTimeSeriesActive,
    /// GetTimeSeries(ENROLLMENTS) by month over the two years ending with `--half`.
    GetTimeSeriesEnrollments,
    /// ExportReport of the summary for `--half`, read to the end.
    ExportReport,
}

#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    #[arg(long, value_enum)]
    pub(crate) call: Call,

    /// The server, e.g. http://127.0.0.1:50052.
    #[arg(long)]
    pub(crate) endpoint: String,

    /// Resource id (GetLearner, GetCourse), or the program id (reports; empty is the whole program).
    #[arg(long, default_value = "")]
    pub(crate) id: String,

    /// Half-year of the reports.
    #[arg(long, default_value = "2025-H1")]
    pub(crate) half: String,

    /// GetBreakdown's dimension: region, gender, age_band, employment_status,
    /// organization, course or skill.
    #[arg(long, default_value = "region")]
    pub(crate) dimension: String,

    /// Bearer token, when the server has auth on.
    #[arg(long, env = "ACADEMY_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,

    #[arg(long, short = 'c', default_value_t = 16)]
    pub(crate) concurrency: usize,

    /// Measured time (ignored with --requests).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub(crate) duration: Duration,

    /// Measured calls instead of a duration.
    #[arg(long)]
    pub(crate) requests: Option<u64>,

    /// Calls sent first and not recorded.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub(crate) warmup: Duration,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `500ms`, `10s`, `2m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |at| text.split_at(at));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 10s or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: the unit is ms, s or m")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_ms_s_and_m() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("fast").is_err());
    }
}
