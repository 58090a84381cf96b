//! What each figure is compared with, measured in the same run: the
//! database alone (pgbench), gRPC alone (the health Check in
//! `scenarios::unary`), and the naive report over source tables.

pub(crate) mod database;
pub(crate) mod naive;
