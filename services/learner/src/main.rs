use academy_learner::LearnerSettings;
use academy_runtime::cli::Cli;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    academy_learner::main(Cli::<LearnerSettings>::parse()).await
}
