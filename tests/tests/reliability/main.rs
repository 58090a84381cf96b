//! The reliability suite (issue #8): the real binaries on PostgreSQL,
//! killed, drained, cut off from their database and their producers, and
//! loaded, with exact counts of what survived. Each case prints what it
//! did and found; run with `--nocapture` to see the figures.
//!
//! The cases run one at a time (see `support::serial`). `ACADEMY_SOAK_SECS`
//! lengthens the sustained-load case into a soak.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod drain;
mod load;
mod migrations;
mod outage;
mod producer;
mod replicas;
mod retries;
mod support;
