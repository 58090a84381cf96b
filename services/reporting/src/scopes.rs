//! The scope each reporting method needs: reports `reports.read`, a
//! projection rebuild `admin`, publishing a snapshot or setting a target
//! `reports.publish`. The server refuses to start if a method of
//! the contract is missing here.

use academy_runtime::auth::scope::{ADMIN, EVENTS_READ, REPORTS_PUBLISH, REPORTS_READ};

pub const REPORTING_SERVICE: &[(&str, &str)] = &[
    ("GetProgramSummary", REPORTS_READ),
    ("GetBreakdown", REPORTS_READ),
    ("GetTimeSeries", REPORTS_READ),
    ("GetFunnel", REPORTS_READ),
    ("ExportReport", REPORTS_READ),
    ("GetFeedStatus", REPORTS_READ),
    ("RebuildProjections", ADMIN),
    ("GetCrossTab", REPORTS_READ),
    ("PublishReport", REPORTS_PUBLISH),
    ("GetPublishedReport", REPORTS_READ),
    ("ListPublishedReports", REPORTS_READ),
    ("CompareWithPublished", REPORTS_READ),
    ("SetTarget", REPORTS_PUBLISH),
    ("ListTargets", REPORTS_READ),
];

/// What this service's own calls to the feeds need.
pub const CALLS_TO_FEEDS: &[&str] = &[EVENTS_READ];
