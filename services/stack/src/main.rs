//! `academy-stack`: one command runs the whole program locally.
//!
//! The three services run as separate processes of this same binary
//! (`academy-stack course|learner|reporting`), so one `cargo run` builds and
//! starts everything.

use academy_runtime::cli::{Cli, NoExtra};
use clap::{Parser, Subcommand};

mod auth;
mod demo;
mod launcher;
mod report;

/// Runs Academy locally: course, learner and reporting services on SQLite.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    service: Option<Service>,

    #[command(flatten)]
    stack: launcher::StackOptions,
}

/// Runs one service in this process (what the stack starts for each child).
#[derive(Debug, Subcommand)]
enum Service {
    #[command(hide = true)]
    Course,
    #[command(hide = true)]
    Learner,
    #[command(hide = true)]
    Reporting,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match args.service {
            // Each child reads its settings from the environment the stack set.
            Some(Service::Course) => {
                academy_course::main(Cli::<NoExtra>::parse_from(["academy-course"])).await
            }
            Some(Service::Learner) => {
                academy_learner::main(Cli::<academy_learner::LearnerSettings>::parse_from([
                    "academy-learner",
                ]))
                .await
            }
            Some(Service::Reporting) => {
                academy_reporting::main(Cli::<academy_reporting::ReportingSettings>::parse_from([
                    "academy-reporting",
                ]))
                .await
            }
            None => launcher::run(args.stack).await,
        }
    })
}
