//! Checks the reported half against what the demo generated: the summary
//! and every region's row must equal the tally exactly.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    BreakdownRow, Dimension, GetBreakdownRequest, GetProgramSummaryRequest, Period,
};
use academyctl::client::{Bearer, CallContext, connect};

use super::tally::{Expected, Figures};

/// Every difference between the report and `expected`, as readable lines;
/// empty when they agree.
pub(crate) async fn differences(
    reporting: &str,
    bearer: &Bearer,
    expected: &Expected,
) -> anyhow::Result<Vec<String>> {
    let mut client = ReportingServiceClient::new(connect(reporting, bearer).await?);
    let period = || {
        Some(Period {
            half: expected.half.clone(),
            ..Default::default()
        })
    };
    let summary = client
        .get_program_summary(GetProgramSummaryRequest {
            program_id: String::new(),
            period: period(),
        })
        .await
        .during("GetProgramSummary")?;
    let mut found = Vec::new();
    let mut compare = |what: &str, reported: i64, generated: i64| {
        if reported != generated {
            found.push(format!(
                "{what}: reported {reported}, generated {generated}"
            ));
        }
    };
    compare(
        "registered learners",
        summary.registered_learners,
        expected.registered_learners,
    );
    compare(
        "active learners",
        summary.active_learners,
        expected.active_learners,
    );
    compare(
        "new learners",
        summary.new_learners,
        expected.total.new_learners,
    );
    compare(
        "enrollments",
        summary.enrollments,
        expected.total.enrollments,
    );
    compare(
        "completions",
        summary.completions,
        expected.total.completions,
    );
    compare(
        "certificates",
        summary.certificates_issued,
        expected.total.completions,
    );
    compare(
        "learning minutes",
        minutes(summary.learning_hours),
        expected.total.learning_minutes,
    );
    let rows = client
        .get_breakdown(GetBreakdownRequest {
            program_id: String::new(),
            period: period(),
            dimension: Dimension::Region as i32,
            limit: 0,
        })
        .await
        .during("GetBreakdown")?
        .rows;
    // The 14 regions and "unknown" (the demo has no unknown regions: zero).
    if rows.len() != 15 {
        found.push(format!("{} region rows, expected 15", rows.len()));
    }
    for row in &rows {
        let generated = expected
            .regions
            .get(&row.label)
            .cloned()
            .unwrap_or_default();
        let reported = region_figures(row);
        if reported != generated {
            found.push(format!(
                "region {}: reported {reported:?}, generated {generated:?}",
                row.label
            ));
        }
    }
    Ok(found)
}

fn region_figures(row: &BreakdownRow) -> Figures {
    Figures {
        new_learners: row.new_learners,
        enrollments: row.enrollments,
        completions: row.completions,
        learning_minutes: minutes(row.learning_hours),
    }
}

/// Hours back to whole minutes (the service divides integer minutes by 60).
fn minutes(hours: f64) -> i64 {
    (hours * 60.0).round() as i64
}
