//! The `academy-course` binary: parses the command line and runs the service (see `lib.rs`).

use academy_runtime::cli::{Cli, NoExtra};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    academy_course::main(Cli::<NoExtra>::parse()).await
}
