//! The edge: report requests into validated periods and scopes, figures
//! back into protobuf.

use academy_domain::{AllValid, FieldViolation, Period, id};
use academy_proto::reporting as pb;
use academy_runtime::time::{date, parse_date};

use crate::figures::breakdown::{Dimension, Row};
use crate::figures::rate;
use crate::figures::series::{Granularity, Metric};
use crate::figures::summary::{Figures, growth_rate};

/// A half (`2025-H2`) or both dates, never both forms and never neither.
/// Every way a period can be wrong is a field violation, so callers check it
/// with the request's other fields in one [`academy_domain::AllValid`].
pub fn period(field: &str, value: Option<&pb::Period>) -> Result<Period, Vec<FieldViolation>> {
    let p = value.ok_or_else(|| vec![FieldViolation::new(field, "is required")])?;
    let has_dates = p.start_date.is_some() || p.end_date.is_some();
    match (p.half.trim().is_empty(), has_dates) {
        (false, false) => Period::half(&format!("{field}.half"), &p.half).map_err(|v| vec![v]),
        (true, true) => {
            let (start, end) = (
                parse_date(&format!("{field}.start_date"), p.start_date.as_ref()),
                parse_date(&format!("{field}.end_date"), p.end_date.as_ref()),
            )
                .all_valid_or_violations()?;
            Period::range(field, start, end).map_err(|v| vec![v])
        }
        (false, true) => Err(vec![FieldViolation::new(
            field,
            "give either half or start_date and end_date, not both",
        )]),
        (true, false) => Err(vec![FieldViolation::new(
            field,
            "give half (e.g. 2025-H2) or start_date and end_date",
        )]),
    }
}

/// A report request's program id (none: the whole platform) and period,
/// checked together so the caller hears of every wrong field at once.
pub fn program_and_period(
    program_id: &str,
    period: Option<&pb::Period>,
) -> Result<(Option<String>, Period), academy_domain::DomainError> {
    (self::program_id(program_id), self::period("period", period)).all_valid()
}

pub fn program_id(raw: &str) -> Result<Option<String>, FieldViolation> {
    id::parse_optional_id("program_id", raw)
}

pub fn dimension(raw: i32) -> Result<Dimension, FieldViolation> {
    use pb::Dimension as P;
    match P::try_from(raw) {
        Ok(P::Region) => Ok(Dimension::Region),
        Ok(P::Gender) => Ok(Dimension::Gender),
        Ok(P::AgeBand) => Ok(Dimension::AgeBand),
        Ok(P::EmploymentStatus) => Ok(Dimension::EmploymentStatus),
        Ok(P::Organization) => Ok(Dimension::Organization),
        Ok(P::Course) => Ok(Dimension::Course),
        Ok(P::Skill) => Ok(Dimension::Skill),
        Ok(P::EducationLevel) => Ok(Dimension::EducationLevel),
        Ok(P::Unspecified) | Err(_) => Err(FieldViolation::new(
            "dimension",
            "must be one of the DIMENSION_* values",
        )),
    }
}

pub fn period_figures(f: &Figures, p: &Period) -> pb::PeriodFigures {
    pb::PeriodFigures {
        registered_learners: f.registered_learners,
        new_learners: f.new_learners,
        active_learners: f.active_learners,
        enrollments: f.enrollments,
        completions: f.completions,
        completion_rate: f.completion_rate,
        certificates_issued: f.certificates_issued,
        learning_hours: f.learning_hours(),
        start_date: Some(date(p.start)),
        end_date: Some(date(p.end)),
        invited: f.invited,
        joined: f.joined,
        invitation_conversion: crate::figures::rate(f.joined, f.invited),
    }
}

pub fn summary(
    current: &Figures,
    period: &Period,
    previous: &Figures,
    before: &Period,
) -> pb::ProgramSummary {
    pb::ProgramSummary {
        registered_learners: current.registered_learners,
        new_learners: current.new_learners,
        active_learners: current.active_learners,
        enrollments: current.enrollments,
        completions: current.completions,
        completion_rate: current.completion_rate,
        certificates_issued: current.certificates_issued,
        learning_hours: current.learning_hours(),
        start_date: Some(date(period.start)),
        end_date: Some(date(period.end)),
        previous_period: Some(period_figures(previous, before)),
        growth_rate: growth_rate(current.registered_learners, previous.registered_learners),
        // Targets live in the database: the API adds them; rpc/reports.rs
        // adds the year before.
        targets: Vec::new(),
        year_before: None,
        year_on_year_growth: 0.0,
        invited: current.invited,
        joined: current.joined,
        invitation_conversion: crate::figures::rate(current.joined, current.invited),
    }
}

pub fn breakdown_row(row: Row) -> pb::BreakdownRow {
    pb::BreakdownRow {
        completion_rate: rate(row.completed_of_created, row.enrollments),
        learning_hours: row.learning_minutes as f64 / 60.0,
        key: row.key,
        label: row.label,
        new_learners: row.new_learners,
        enrollments: row.enrollments,
        completions: row.completions,
        targets: Vec::new(),
        suppressed: Vec::new(),
        invited: row.invited,
        joined: row.joined,
    }
}

pub fn crosstab_row(cell: crate::figures::crosstab::Cell) -> pb::CrossTabRow {
    let f = cell.figures;
    pb::CrossTabRow {
        row_key: cell.row_key,
        row_label: cell.row_label,
        column_key: cell.column_key,
        column_label: cell.column_label,
        new_learners: f.new_learners,
        enrollments: f.enrollments,
        completions: f.completions,
        completion_rate: rate(f.completed_of_created, f.enrollments),
        learning_hours: f.learning_minutes as f64 / 60.0,
        suppressed: Vec::new(),
    }
}

pub fn metric(raw: i32) -> Result<Metric, FieldViolation> {
    use pb::Metric as P;
    match P::try_from(raw) {
        Ok(P::RegisteredLearners) => Ok(Metric::RegisteredLearners),
        Ok(P::NewLearners) => Ok(Metric::NewLearners),
        Ok(P::ActiveLearners) => Ok(Metric::ActiveLearners),
        Ok(P::Enrollments) => Ok(Metric::Enrollments),
        Ok(P::Completions) => Ok(Metric::Completions),
        Ok(P::CertificatesIssued) => Ok(Metric::CertificatesIssued),
        Ok(P::LearningHours) => Ok(Metric::LearningHours),
        Ok(P::Invited) => Ok(Metric::Invited),
        Ok(P::Joined) => Ok(Metric::Joined),
        Ok(P::Unspecified) | Err(_) => Err(FieldViolation::new(
            "metric",
            "must be one of the METRIC_* values",
        )),
    }
}

pub fn granularity(raw: i32) -> Result<Granularity, FieldViolation> {
    use pb::Granularity as P;
    match P::try_from(raw) {
        Ok(P::Day) => Ok(Granularity::Day),
        Ok(P::Week) => Ok(Granularity::Week),
        Ok(P::Month) => Ok(Granularity::Month),
        Ok(P::Unspecified) | Err(_) => Err(FieldViolation::new(
            "granularity",
            "must be GRANULARITY_DAY, _WEEK or _MONTH",
        )),
    }
}

/// The inclusive range of a time-series request.
pub fn date_range(
    start: Option<&academy_proto::google::r#type::Date>,
    end: Option<&academy_proto::google::r#type::Date>,
) -> Result<Period, Vec<FieldViolation>> {
    let (start, end) =
        (parse_date("start_date", start), parse_date("end_date", end)).all_valid_or_violations()?;
    Period::range("period", start, end).map_err(|v| {
        // Name the request's own fields rather than a nested period.
        let field = if v.field.ends_with("end_date") {
            "end_date"
        } else {
            "start_date"
        };
        vec![FieldViolation::new(field, v.description)]
    })
}
