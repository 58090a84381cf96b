//! ExportReport: the numbers of a report as CSV (RFC 4180 quoting, a header
//! row), streamed in chunks of at most `CHUNK` bytes. Every cell goes through
//! `academy_domain::csv::neutralise`: an organisation, course title or skill
//! name that starts like a formula reaches a spreadsheet as text.

use academy_domain::DomainError;
use academy_domain::csv::neutralise;
use academy_proto::reporting::*;
use academy_runtime::time::date;

use crate::access::Access;
use crate::engine::Model;
use tokio::sync::mpsc;
use tonic::Status;

use crate::rpc::reports;

pub const CHUNK: usize = 64 * 1024;

/// Sends `rows` as CSV chunks into `tx` until done or the client leaves.
pub async fn send(rows: Vec<Vec<String>>, tx: mpsc::Sender<Result<ExportReportResponse, Status>>) {
    if let Err(err) = write(rows, &tx).await {
        let _ = tx.send(Err(academy_runtime::to_status(err))).await;
    }
}

/// Validates and answers the report before streaming, so a bad request is an
/// error status, not a half-written file.
pub fn rows(
    model: &Model,
    req: &ExportReportRequest,
    access: &Access,
) -> Result<Vec<Vec<String>>, DomainError> {
    let kind = ReportKind::try_from(req.kind).unwrap_or(ReportKind::Unspecified);
    let fmt_date = |d: Option<academy_proto::google::r#type::Date>| {
        d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
            .unwrap_or_default()
    };
    match kind {
        ReportKind::Summary => {
            let s = reports::summary(
                model,
                &GetProgramSummaryRequest {
                    program_id: req.program_id.clone(),
                    period: req.period.clone(),
                },
                access,
            )?;
            let mut out = vec![header(&[
                "period_start",
                "period_end",
                "registered_learners",
                "new_learners",
                "active_learners",
                "enrollments",
                "completions",
                "completion_rate",
                "certificates_issued",
                "learning_hours",
                "growth_rate",
                "invited",
                "joined",
                "invitation_conversion",
            ])];
            let mut line = |f: &PeriodFigures, growth: String| {
                out.push(vec![
                    fmt_date(f.start_date),
                    fmt_date(f.end_date),
                    f.registered_learners.to_string(),
                    f.new_learners.to_string(),
                    f.active_learners.to_string(),
                    f.enrollments.to_string(),
                    f.completions.to_string(),
                    f.completion_rate.to_string(),
                    f.certificates_issued.to_string(),
                    f.learning_hours.to_string(),
                    growth,
                    f.invited.to_string(),
                    f.joined.to_string(),
                    f.invitation_conversion.to_string(),
                ])
            };
            if let Some(previous) = &s.previous_period {
                line(previous, String::new());
            }
            let current = s.figures();
            line(&current, s.growth_rate.to_string());
            Ok(out)
        }
        ReportKind::Breakdown => {
            let b = reports::breakdown(
                model,
                &GetBreakdownRequest {
                    program_id: req.program_id.clone(),
                    period: req.period.clone(),
                    dimension: req.dimension,
                    limit: 0,
                },
                access,
            )?;
            let mut out = vec![header(&[
                "key",
                "label",
                "new_learners",
                "enrollments",
                "completions",
                "completion_rate",
                "learning_hours",
                "invited",
                "joined",
            ])];
            out.extend(b.rows.into_iter().map(|r| {
                let shown = shown(&r.suppressed);
                vec![
                    r.key,
                    r.label,
                    shown("new_learners", r.new_learners.to_string()),
                    shown("enrollments", r.enrollments.to_string()),
                    shown("completions", r.completions.to_string()),
                    shown("completion_rate", r.completion_rate.to_string()),
                    shown("learning_hours", r.learning_hours.to_string()),
                    shown("invited", r.invited.to_string()),
                    shown("joined", r.joined.to_string()),
                ]
            }));
            Ok(out)
        }
        ReportKind::TimeSeries => {
            let period =
                crate::convert::period("period", req.period.as_ref()).map_err(DomainError::from)?;
            let t = reports::time_series(
                model,
                &GetTimeSeriesRequest {
                    program_id: req.program_id.clone(),
                    metric: req.metric,
                    granularity: req.granularity,
                    start_date: Some(date(period.start)),
                    end_date: Some(date(period.end)),
                },
                access,
            )?;
            let mut out = vec![header(&["date", "value"])];
            out.extend(
                t.points
                    .into_iter()
                    .map(|p| vec![fmt_date(p.date), p.value.to_string()]),
            );
            Ok(out)
        }
        ReportKind::Funnel => {
            let f = reports::funnel(
                model,
                &GetFunnelRequest {
                    program_id: req.program_id.clone(),
                    period: req.period.clone(),
                },
                access,
            )?;
            let mut out = vec![header(&["stage", "count", "conversion_from_previous"])];
            out.extend(f.stages.into_iter().map(|s| {
                vec![
                    s.name,
                    s.count.to_string(),
                    s.conversion_from_previous.to_string(),
                ]
            }));
            Ok(out)
        }
        ReportKind::CrossTab => {
            let t = reports::crosstab(
                model,
                &GetCrossTabRequest {
                    program_id: req.program_id.clone(),
                    period: req.period.clone(),
                    row_dimension: req.dimension,
                    column_dimension: req.second_dimension,
                    limit: 0,
                },
                access,
            )?;
            let mut out = vec![header(&[
                "row_key",
                "row_label",
                "column_key",
                "column_label",
                "new_learners",
                "enrollments",
                "completions",
                "completion_rate",
                "learning_hours",
            ])];
            out.extend(t.rows.into_iter().map(|r| {
                let shown = shown(&r.suppressed);
                vec![
                    r.row_key,
                    r.row_label,
                    r.column_key,
                    r.column_label,
                    shown("new_learners", r.new_learners.to_string()),
                    shown("enrollments", r.enrollments.to_string()),
                    shown("completions", r.completions.to_string()),
                    shown("completion_rate", r.completion_rate.to_string()),
                    shown("learning_hours", r.learning_hours.to_string()),
                ]
            }));
            Ok(out)
        }
        ReportKind::Unspecified => Err(DomainError::invalid(
            "kind",
            "must be one of the REPORT_KIND_* values",
        )),
    }
}

/// The marker a withheld figure is written as (the minimum cell size).
pub const SUPPRESSED: &str = "suppressed";

/// A figure's CSV cell: its value, or the marker when it was withheld.
fn shown(suppressed: &[String]) -> impl Fn(&str, String) -> String + '_ {
    move |field, value| {
        if suppressed.iter().any(|s| s == field) {
            SUPPRESSED.to_owned()
        } else {
            value
        }
    }
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

async fn write(
    rows: Vec<Vec<String>>,
    tx: &mpsc::Sender<Result<ExportReportResponse, Status>>,
) -> Result<(), DomainError> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(CHUNK));
    for row in rows {
        writer
            .write_record(row.iter().map(|cell| neutralise(cell).into_owned()))
            .map_err(DomainError::internal)?;
        // `get_ref` sees what the writer has flushed from its small buffer.
        if writer.get_ref().len() >= CHUNK {
            let chunk = writer
                .into_inner()
                .map_err(|e| DomainError::internal(e.to_string()))?;
            if tx
                .send(Ok(ExportReportResponse { csv_chunk: chunk }))
                .await
                .is_err()
            {
                return Ok(());
            }
            writer = csv::Writer::from_writer(Vec::with_capacity(CHUNK));
        }
    }
    let rest = writer
        .into_inner()
        .map_err(|e| DomainError::internal(e.to_string()))?;
    if !rest.is_empty() {
        let _ = tx.send(Ok(ExportReportResponse { csv_chunk: rest })).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cells_that_start_like_formulas_are_exported_as_text() {
        let rows = vec![
            vec!["key".to_owned(), "growth".to_owned()],
            vec!["=cmd|' /C calc'!A0".to_owned(), "-0.25".to_owned()],
            vec!["@SUM(A1)".to_owned(), "+1".to_owned()],
        ];
        let (tx, mut rx) = mpsc::channel(4);
        send(rows, tx).await;
        let mut csv = Vec::new();
        while let Some(Ok(chunk)) = rx.recv().await {
            csv.extend(chunk.csv_chunk);
        }
        let text = String::from_utf8(csv).expect("utf-8");
        assert_eq!(
            text, "key,growth\n'=cmd|' /C calc'!A0,-0.25\n'@SUM(A1),+1\n",
            "formulas prefixed, numbers left as numbers"
        );
    }
}
