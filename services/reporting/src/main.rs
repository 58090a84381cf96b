//! The `academy-reporting` binary: parses the command line and runs the service (see `lib.rs`).

use academy_reporting::ReportingSettings;
use academy_runtime::cli::Cli;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    academy_reporting::main(Cli::<ReportingSettings>::parse()).await
}
