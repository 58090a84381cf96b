//! `bench`: Academy's load generator (`bench load`) and benchmark suite
//! (`bench suite`). See BENCHMARKS.md for the scenarios and figures.

use clap::Parser;

mod bulk;
mod cli;
mod limits;
mod load;
mod pg;
mod report;
mod runner;
mod scenarios;
mod services;
mod suite;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match cli::Cli::parse().command {
        cli::Command::Suite(args) => suite::run(args).await,
        cli::Command::Load(args) => load::run(args).await,
    }
}
