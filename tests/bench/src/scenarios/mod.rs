//! The workloads, each over the generated clients.

pub(crate) mod catalog;
pub(crate) mod feed;
pub(crate) mod import;
pub(crate) mod reports;
pub(crate) mod unary;
