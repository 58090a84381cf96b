//! The sponsor reports over the bulk-loaded program: every report kind the
//! reporting engine answers, for one half-year (a time series: months over
//! two years), on the program and on the platform.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    CompareWithPublishedRequest, Dimension, ExportReportRequest, GetBreakdownRequest,
    GetCrossTabRequest, GetFunnelRequest, GetProgramSummaryRequest, GetTimeSeriesRequest,
    Granularity, Metric, Period, ProgramSummary, PublishReportRequest, ReportKind,
};
use academyctl::client::Authed;
use chrono::NaiveDate;

use crate::runner::{self, LoadSpec, Outcome};

fn period(half: &str) -> Option<Period> {
    Some(Period {
        half: half.to_owned(),
        ..Default::default()
    })
}

pub(crate) async fn summary_once(
    client: &mut ReportingServiceClient<Authed>,
    program_id: &str,
    half: &str,
) -> anyhow::Result<ProgramSummary> {
    Ok(client
        .get_program_summary(GetProgramSummaryRequest {
            program_id: program_id.to_owned(),
            period: period(half),
        })
        .await?
        .into_inner())
}

/// One report request, as the bench drives it.
#[derive(Debug, Clone)]
pub(crate) enum Report {
    Summary,
    Breakdown(Dimension),
    Funnel,
    /// Months over the two years ending with the half.
    TimeSeries(Metric),
    /// The summary as CSV.
    Export,
    /// Figures split by two dimensions (rows, columns).
    CrossTab(Dimension, Dimension),
    /// A publication of the half: every call a restatement (a new
    /// snapshot row, all breakdowns, the funnel and the series frozen).
    Publish,
    /// The live figures against this snapshot.
    Compare(String),
}

impl Report {
    /// Every report the targets name.
    pub(crate) fn all() -> Vec<Report> {
        let mut all = vec![Report::Summary];
        for d in [
            Dimension::Region,
            Dimension::Gender,
            Dimension::AgeBand,
            Dimension::EmploymentStatus,
            Dimension::Organization,
            Dimension::Course,
            Dimension::Skill,
        ] {
            all.push(Report::Breakdown(d));
        }
        all.push(Report::Funnel);
        all.push(Report::TimeSeries(Metric::ActiveLearners));
        all.push(Report::TimeSeries(Metric::Enrollments));
        all.push(Report::Export);
        all.push(Report::CrossTab(Dimension::Gender, Dimension::Region));
        all.push(Report::CrossTab(Dimension::Region, Dimension::Course));
        all
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Report::Summary => "GetProgramSummary".into(),
            Report::Breakdown(d) => format!(
                "GetBreakdown({})",
                d.as_str_name().trim_start_matches("DIMENSION_")
            ),
            Report::Funnel => "GetFunnel".into(),
            Report::TimeSeries(m) => format!(
                "GetTimeSeries({}, MONTH, 2 years)",
                m.as_str_name().trim_start_matches("METRIC_")
            ),
            Report::Export => "ExportReport(SUMMARY)".into(),
            Report::CrossTab(r, c) => format!(
                "GetCrossTab({} x {})",
                r.as_str_name().trim_start_matches("DIMENSION_"),
                c.as_str_name().trim_start_matches("DIMENSION_")
            ),
            Report::Publish => "PublishReport (restatement)".into(),
            Report::Compare(_) => "CompareWithPublished".into(),
        }
    }

    async fn call(
        &self,
        mut client: ReportingServiceClient<Authed>,
        program_id: String,
        half: &str,
    ) -> Result<(), tonic::Status> {
        match self {
            Report::Summary => client
                .get_program_summary(GetProgramSummaryRequest {
                    program_id,
                    period: period(half),
                })
                .await
                .map(drop),
            Report::Breakdown(d) => client
                .get_breakdown(GetBreakdownRequest {
                    program_id,
                    period: period(half),
                    dimension: *d as i32,
                    limit: 0,
                })
                .await
                .map(drop),
            Report::Funnel => client
                .get_funnel(GetFunnelRequest {
                    program_id,
                    period: period(half),
                })
                .await
                .map(drop),
            Report::TimeSeries(m) => {
                let (start, end) = two_years_to(half);
                client
                    .get_time_series(GetTimeSeriesRequest {
                        program_id,
                        metric: *m as i32,
                        granularity: Granularity::Month as i32,
                        start_date: Some(date(start)),
                        end_date: Some(date(end)),
                    })
                    .await
                    .map(drop)
            }
            Report::Export => {
                let mut stream = client
                    .export_report(ExportReportRequest {
                        program_id,
                        period: period(half),
                        kind: ReportKind::Summary as i32,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                while stream.message().await?.is_some() {}
                Ok(())
            }
            Report::CrossTab(r, c) => client
                .get_cross_tab(GetCrossTabRequest {
                    program_id,
                    period: period(half),
                    row_dimension: *r as i32,
                    column_dimension: *c as i32,
                    limit: 0,
                })
                .await
                .map(drop),
            Report::Publish => client
                .publish_report(PublishReportRequest {
                    program_id,
                    period: period(half),
                    note: "bench".into(),
                    reason: "bench restatement".into(),
                    // A new request each time: every call publishes.
                    request_id: String::new(),
                })
                .await
                .map(drop),
            Report::Compare(snapshot_id) => client
                .compare_with_published(CompareWithPublishedRequest {
                    snapshot_id: snapshot_id.clone(),
                })
                .await
                .map(drop),
        }
    }
}

fn date(d: NaiveDate) -> academy_proto::google::r#type::Date {
    use chrono::Datelike;
    academy_proto::google::r#type::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// The 24 months ending with the half `2025-H1` (July 2023 .. June 2025).
fn two_years_to(half: &str) -> (NaiveDate, NaiveDate) {
    let year: i32 = half.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2025);
    let second = half.ends_with("H2");
    let end = if second {
        NaiveDate::from_ymd_opt(year, 12, 31)
    } else {
        NaiveDate::from_ymd_opt(year, 6, 30)
    };
    let start = if second {
        NaiveDate::from_ymd_opt(year - 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year - 2, 7, 1)
    };
    (
        start.unwrap_or(NaiveDate::MIN),
        end.unwrap_or(NaiveDate::MAX),
    )
}

/// Publishes the half once; the snapshot's id.
pub(crate) async fn publish_once(
    client: &mut ReportingServiceClient<Authed>,
    program_id: &str,
    half: &str,
) -> anyhow::Result<String> {
    Ok(client
        .publish_report(PublishReportRequest {
            program_id: program_id.to_owned(),
            period: period(half),
            note: "bench".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .id)
}

/// Drives `report` for `spec`; `program_id` empty for the platform.
pub(crate) async fn run(
    client: ReportingServiceClient<Authed>,
    report: Report,
    program_id: &str,
    half: &str,
    spec: LoadSpec,
) -> anyhow::Result<Outcome> {
    let program_id = program_id.to_owned();
    let half = half.to_owned();
    runner::run(spec, move |_| {
        let client = client.clone();
        let report = report.clone();
        let program_id = program_id.clone();
        let half = half.clone();
        async move { report.call(client, program_id, &half).await }
    })
    .await
}
