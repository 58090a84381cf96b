//! The course service through a real generated client, against a real
//! tonic server on an ephemeral port, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod common;
mod courses;
mod feed;
mod follow;
mod hostile;
mod pages;
mod programs;
mod reflection;
mod server;
mod skills;
