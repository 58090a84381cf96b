//! The `academy-learner` binary: parses the command line and runs the service (see `lib.rs`).

use academy_learner::LearnerSettings;
use academy_runtime::cli::Cli;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    academy_learner::main(Cli::<LearnerSettings>::parse()).await
}
