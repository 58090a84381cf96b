//! Published results (issue #18): immutable snapshots of a period's
//! figures.
//!
//! - `rpc.rs`: PublishReport, GetPublishedReport, ListPublishedReports
//!   (validation, provenance, the transaction that appends a snapshot).
//! - `compare.rs`: CompareWithPublished, live figures against a snapshot,
//!   and the drifted-snapshots gauge.
//! - `snapshot.rs`: what a snapshot holds, computed with the same report
//!   functions the Get RPCs use, and its canonical encoding and digest.
//! - `targets.rs`: SetTarget, ListTargets (table `r_target`) and the
//!   target attainment summary and breakdown answers carry.
//! - `target_cache.rs`: the targets the summary and breakdown answers
//!   read, kept in memory for a few seconds.
//! - `store.rs`: the SQL of the append-only `r_published_report` table
//!   (migration `m20261130_000007_create_published_reports`).

pub mod compare;
pub mod rpc;
pub mod snapshot;
pub mod store;
pub mod target_cache;
pub mod targets;

pub use rpc::Publisher;
