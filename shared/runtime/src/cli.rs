//! The command line every service binary shares: `serve` (the default) and
//! `migrate`, plus the service's own settings.

use crate::config::ServerConfig;
use clap::{Args, Parser, Subcommand};

/// An Academy service. Every flag can also be set by its environment variable.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli<Extra: Args> {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub server: ServerConfig,

    #[command(flatten)]
    pub extra: Extra,
}

/// What to do.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Serve gRPC until SIGTERM or Ctrl-C (the default).
    Serve,
    /// Apply pending database migrations and exit (a Kubernetes Job runs this).
    Migrate,
}

/// For services with no settings of their own.
#[derive(Debug, Clone, Args)]
pub struct NoExtra {}
