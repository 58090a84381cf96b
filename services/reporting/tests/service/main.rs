//! The reporting service against real course and learner services: every
//! figure equals the same figure computed independently from the data the
//! test generated (seeded), on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod common;
mod crosstab;
mod dimensions;
mod exactness;
mod hostile;
mod lease;
mod model;
mod publish;
mod restate;
mod stack;
mod targets;
mod unknowns;
mod yoy;
