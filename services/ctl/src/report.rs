//! Report tables: the semi-annual summary and breakdowns, as an operator
//! reads them in a terminal.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    BreakdownRow, Dimension, GetBreakdownRequest, GetBreakdownResponse, GetProgramSummaryRequest,
    Period, ProgramSummary,
};

use crate::client::{Authed, CallContext};

pub type Reporting = ReportingServiceClient<Authed>;

/// Fetches and prints the summary of `period`, with the previous period.
pub async fn print_summary(
    client: &mut Reporting,
    program_id: &str,
    period: Period,
) -> anyhow::Result<()> {
    let summary = summary(client, program_id, period).await?;
    print!("{}", summary_table(&summary));
    Ok(())
}

/// GetProgramSummary of `period`.
pub async fn summary(
    client: &mut Reporting,
    program_id: &str,
    period: Period,
) -> anyhow::Result<ProgramSummary> {
    client
        .get_program_summary(GetProgramSummaryRequest {
            program_id: program_id.to_owned(),
            period: Some(period),
        })
        .await
        .during("GetProgramSummary")
}

/// GetBreakdown of `period` by `dimension`, `limit` rows at most (0 = all).
pub async fn breakdown(
    client: &mut Reporting,
    program_id: &str,
    period: Period,
    dimension: Dimension,
    limit: i32,
) -> anyhow::Result<GetBreakdownResponse> {
    client
        .get_breakdown(GetBreakdownRequest {
            program_id: program_id.to_owned(),
            period: Some(period),
            dimension: dimension as i32,
            limit,
        })
        .await
        .during("GetBreakdown")
}

/// The summary as text: one figure a line, the previous period in brackets.
pub fn summary_table(s: &ProgramSummary) -> String {
    let previous = s.previous_period.unwrap_or_default();
    let count = |name: &str, now: i64, before: i64| format!("  {name:<22}{now:>12}  ({before})\n");
    let percent = |name: &str, now: f64, before: f64| {
        format!(
            "  {name:<22}{:>11.1}%  ({:.1}%)\n",
            now * 100.0,
            before * 100.0
        )
    };
    let mut out = format!(
        "{} to {} (previous period in brackets)\n",
        show_date(s.start_date.as_ref()),
        show_date(s.end_date.as_ref())
    );
    out += &count(
        "registered learners",
        s.registered_learners,
        previous.registered_learners,
    );
    out += &count("new learners", s.new_learners, previous.new_learners);
    out += &count(
        "active learners",
        s.active_learners,
        previous.active_learners,
    );
    out += &count("enrollments", s.enrollments, previous.enrollments);
    out += &count("completions", s.completions, previous.completions);
    out += &percent(
        "completion rate",
        s.completion_rate,
        previous.completion_rate,
    );
    out += &count(
        "certificates issued",
        s.certificates_issued,
        previous.certificates_issued,
    );
    out += &format!(
        "  {:<22}{:>12.0}  ({:.0})\n",
        "learning hours", s.learning_hours, previous.learning_hours
    );
    out += &format!("  {:<22}{:>11.1}%\n", "growth", s.growth_rate * 100.0);
    // Reach (issue #17): program invitations made and joined.
    out += &count("invited", s.invited, previous.invited);
    out += &count("joined", s.joined, previous.joined);
    out += &percent(
        "invitation conversion",
        s.invitation_conversion,
        previous.invitation_conversion,
    );
    out
}

/// Fetches and prints one breakdown, `limit` rows at most (0 = all).
pub async fn print_breakdown(
    client: &mut Reporting,
    program_id: &str,
    period: Period,
    dimension: Dimension,
    limit: i32,
) -> anyhow::Result<()> {
    let rows = breakdown(client, program_id, period, dimension, limit)
        .await?
        .rows;
    print!("{}", breakdown_table(dimension_title(dimension), &rows));
    Ok(())
}

/// Rows as an aligned table under a title column.
pub fn breakdown_table(title: &str, rows: &[BreakdownRow]) -> String {
    let mut out = format!(
        "  {title:<26}{:>10}{:>13}{:>13}{:>12}{:>10}\n",
        "new", "enrollments", "completions", "completion", "hours"
    );
    for r in rows {
        // A figure withheld by the minimum cell size shows as "-".
        let shown = |field: &str, value: String| {
            if r.suppressed.iter().any(|s| s == field) {
                "-".to_owned()
            } else {
                value
            }
        };
        out += &format!(
            "  {:<26}{:>10}{:>13}{:>13}{:>12}{:>10}\n",
            r.label,
            shown("new_learners", r.new_learners.to_string()),
            shown("enrollments", r.enrollments.to_string()),
            shown("completions", r.completions.to_string()),
            shown(
                "completion_rate",
                format!("{:.1}%", r.completion_rate * 100.0)
            ),
            shown("learning_hours", format!("{:.0}", r.learning_hours)),
        );
    }
    out
}

fn dimension_title(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Region => "Region",
        Dimension::Gender => "Gender",
        Dimension::AgeBand => "Age band",
        Dimension::EmploymentStatus => "Employment status",
        Dimension::Organization => "Organization",
        Dimension::Course => "Course",
        Dimension::Skill => "Skill",
        Dimension::EducationLevel => "Education level",
        Dimension::Unspecified => "",
    }
}

fn show_date(date: Option<&academy_proto::google::r#type::Date>) -> String {
    date.map_or_else(
        || "?".to_owned(),
        |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakdown_rows_line_up_under_their_headers() {
        let rows = [BreakdownRow {
            key: "baku".into(),
            label: "Baku".into(),
            new_learners: 12,
            enrollments: 30,
            completions: 9,
            completion_rate: 0.3,
            learning_hours: 41.6,
            suppressed: Vec::new(),
            targets: Vec::new(),
            ..Default::default()
        }];
        let table = breakdown_table("Region", &rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), lines[1].len(), "{table}");
        assert!(
            lines[1].contains("30.0%") && lines[1].contains("42"),
            "{table}"
        );
    }
}
