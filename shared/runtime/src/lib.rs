//! What every Academy binary does the same way, grouped by what it is:
//!
//! - [`server`]: the one gRPC server bootstrap and its layers (limits,
//!   deadlines, load shedding, the database gate, start-up and shutdown);
//! - [`auth`]: bearer tokens, scopes, data scopes and who is calling;
//! - [`db`]: connections, the schema helpers migrations use, raw SQL for both
//!   databases, idempotency keys;
//! - [`write`]: the unit of work every write goes through;
//! - [`feed`]: the change feed (outbox, `EventFeed`, follower, lease);
//! - [`audit`]: the append-only audit log and its read service;
//! - [`observability`]: metrics, logs and traces;
//! - [`tls`]: server and client TLS with certificates reloaded while running;
//! - [`balance`]: client-side balancing over every pod of a service;
//! - [`config`], [`cli`]: the settings and command line every binary shares;
//! - [`status`]: the one mapping from domain errors to gRPC statuses;
//! - [`time`]: protobuf time types to chrono and back.

pub mod audit;
pub mod auth;
pub mod balance;
pub mod cli;
pub mod config;
pub mod db;
pub mod feed;
pub mod observability;
pub mod server;
pub mod status;
pub mod time;
pub mod tls;
pub mod write;

pub use config::{MigrateMode, ServerConfig, ServiceIdentity};
pub use status::{respond, to_status};
