//! The report RPCs' bodies, one module per area, called by `api.rs`:
//!
//! - `reports.rs`: GetProgramSummary, GetBreakdown, GetTimeSeries,
//!   GetFunnel, GetCrossTab, one function each (validation, the caller's
//!   scope, the figures from `crate::figures`, conversion).
//! - `export.rs`: ExportReport, the same functions' answers as CSV.
//!
//! Publishing (PublishReport, the snapshots, targets) is its own area with
//! its own state, `crate::publish::Publisher`; RebuildProjections is
//! `crate::rebuild`.

pub mod export;
pub mod reports;
