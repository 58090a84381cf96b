//! What every Academy binary does the same way: configuration, tracing, the
//! database, the gRPC server bootstrap, the mapping of domain errors to
//! statuses, and the change feed.

pub mod audit;
pub mod auth;
pub mod balance;
pub mod caller_limit;
pub mod cli;
pub mod codes;
pub mod config;
pub mod connections;
pub mod db;
pub mod deadline;
pub mod feed;
pub mod gate;
pub mod idempotency;
pub mod monitoring;
pub mod schema;
pub mod server;
pub mod shed;
pub mod shutdown;
pub mod sql;
pub mod startup;
pub mod status;
pub mod telemetry;
pub mod time;
pub mod tls;
// Helper C (finish): client certificates reloaded without a restart.
pub mod tls_client;
pub mod tls_reload;
pub mod trace;
pub mod write;

pub use config::{MigrateMode, ServerConfig, ServiceIdentity};
pub use status::{respond, to_status};
