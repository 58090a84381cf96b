//! `academyctl`: the jobs an operator does by hand, over the public gRPC API.
//!
//! The library half is shared with `academy-stack`, which prints the same
//! report tables after loading its demo program.

pub mod bulk;
pub mod client;
pub mod csv_file;
pub mod export;
pub mod feed;
pub mod import;
pub mod learners;
pub mod period;
pub mod provider;
pub mod render;
pub mod report;
