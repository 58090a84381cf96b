//! One function per report RPC: validate, resolve the scope, query, convert.
//! ExportReport reuses them so the CSV always carries the same numbers.

use academy_domain::{AllValid, DomainError, Period};
use academy_proto::reporting::*;
use academy_runtime::time::date;

use crate::access::Access;
use crate::engine::Model;
use crate::figures::{Scope, breakdown, crosstab, funnel, rate, series, slice, summary};
use crate::{convert, suppress};

/// Largest breakdown answered.
pub const MAX_ROWS: usize = 1000;
/// Largest cross-tab answered.
pub const MAX_CELLS: usize = 10_000;

/// GetProgramSummary: the period's headline figures, with the period before
/// and the same period a year before.
pub fn summary(
    model: &Model,
    req: &GetProgramSummaryRequest,
    access: &Access,
) -> Result<ProgramSummary, DomainError> {
    let (program_id, period) = convert::program_and_period(&req.program_id, req.period.as_ref())?;
    access.program(program_id.as_deref())?;
    let scope = Scope::resolve(model, program_id.as_deref())?;
    let before = period.previous();
    let figures = |p: &Period| match access.slice(model) {
        Some(s) => slice::summary(model, &scope, p, &s),
        None => summary::figures(model, &scope, p),
    };
    let current = figures(&period);
    let previous = figures(&before);
    let mut answer = convert::summary(&current, &period, &previous, &before);
    let year_ago = summary::year_before(&period);
    let then = figures(&year_ago);
    answer.year_before = Some(convert::period_figures(&then, &year_ago));
    answer.year_on_year_growth =
        summary::growth_rate(current.registered_learners, then.registered_learners);
    Ok(answer)
}

pub fn breakdown(
    model: &Model,
    req: &GetBreakdownRequest,
    access: &Access,
) -> Result<GetBreakdownResponse, DomainError> {
    breakdown_with_total(model, req, access).map(|(answer, _)| answer)
}

/// The sum of each figure over all rows of a breakdown, before any is
/// withheld or cut by the limit: the dimension's total a share target
/// divides by (key "", label "").
fn total(rows: &[BreakdownRow]) -> BreakdownRow {
    rows.iter().fold(BreakdownRow::default(), |mut t, r| {
        t.new_learners += r.new_learners;
        t.enrollments += r.enrollments;
        t.completions += r.completions;
        t.learning_hours += r.learning_hours;
        t
    })
}

/// GetBreakdown, and the dimension's total (see `total`).
pub fn breakdown_with_total(
    model: &Model,
    req: &GetBreakdownRequest,
    access: &Access,
) -> Result<(GetBreakdownResponse, BreakdownRow), DomainError> {
    breakdown_rows(model, req, access, true)
}

/// Every row of a breakdown as `access` sees it (no limit, not even
/// MAX_ROWS: a share target's key must be found however many keys the
/// dimension has), and the dimension's total. For the summary's share
/// targets.
pub fn share_basis(
    model: &Model,
    req: &GetBreakdownRequest,
    access: &Access,
) -> Result<(GetBreakdownResponse, BreakdownRow), DomainError> {
    breakdown_rows(model, req, access, false)
}

fn breakdown_rows(
    model: &Model,
    req: &GetBreakdownRequest,
    access: &Access,
    cut: bool,
) -> Result<(GetBreakdownResponse, BreakdownRow), DomainError> {
    let (program_id, dimension, limit, period) = (
        convert::program_id(&req.program_id),
        convert::dimension(req.dimension),
        academy_domain::text::in_range("limit", req.limit, 0, MAX_ROWS as i32),
        convert::period("period", req.period.as_ref()),
    )
        .all_valid()?;
    access.program(program_id.as_deref())?;
    if dimension == breakdown::Dimension::Skill {
        access.whole_learners_only("a breakdown by SKILL")?;
    }
    let scope = Scope::resolve(model, program_id.as_deref())?;
    let slice = access.slice(model);
    let mut rows: Vec<BreakdownRow> =
        breakdown::breakdown(model, &scope, &period, dimension, slice.as_ref())
            .into_iter()
            .map(convert::breakdown_row)
            .collect();
    let total = total(&rows);
    // Withheld counts are sorted as shown, so the order tells nothing more.
    if !access.exact {
        suppress::breakdown(&mut rows, access.min_cell_size);
    }
    rows.sort_by(|a, b| {
        b.enrollments
            .cmp(&a.enrollments)
            .then_with(|| a.key.cmp(&b.key))
    });
    if cut {
        rows.truncate(if limit == 0 { MAX_ROWS } else { limit as usize });
    }
    Ok((
        GetBreakdownResponse {
            rows,
            dimension: req.dimension,
            start_date: Some(date(period.start)),
            end_date: Some(date(period.end)),
        },
        total,
    ))
}

pub fn time_series(
    model: &Model,
    req: &GetTimeSeriesRequest,
    access: &Access,
) -> Result<GetTimeSeriesResponse, DomainError> {
    let (program_id, metric, granularity, range) = (
        convert::program_id(&req.program_id),
        convert::metric(req.metric),
        convert::granularity(req.granularity),
        convert::date_range(req.start_date.as_ref(), req.end_date.as_ref()),
    )
        .all_valid()?;
    let buckets = series::buckets(&range, granularity);
    if buckets.len() > series::MAX_BUCKETS {
        return Err(DomainError::invalid(
            "granularity",
            format!(
                "{} buckets asked for; at most {} (use a coarser granularity)",
                buckets.len(),
                series::MAX_BUCKETS
            ),
        ));
    }
    access.program(program_id.as_deref())?;
    access.whole_learners_only("GetTimeSeries")?;
    let scope = Scope::resolve(model, program_id.as_deref())?;
    let values = series::series(model, &scope, &range, &buckets, metric);
    Ok(GetTimeSeriesResponse {
        points: buckets
            .iter()
            .zip(values)
            .map(|(b, value)| TimeSeriesPoint {
                date: Some(date(b.start)),
                value,
            })
            .collect(),
    })
}

pub fn funnel(
    model: &Model,
    req: &GetFunnelRequest,
    access: &Access,
) -> Result<GetFunnelResponse, DomainError> {
    let (program_id, period) = convert::program_and_period(&req.program_id, req.period.as_ref())?;
    access.program(program_id.as_deref())?;
    access.whole_learners_only("GetFunnel")?;
    let scope = Scope::resolve(model, program_id.as_deref())?;
    let stages = funnel::funnel(model, &scope, &period);
    let mut previous = None;
    Ok(GetFunnelResponse {
        stages: stages
            .into_iter()
            .map(|(name, count)| {
                let conversion = previous.map_or(1.0, |p| rate(count, p));
                previous = Some(count);
                FunnelStage {
                    name: name.to_owned(),
                    count,
                    conversion_from_previous: conversion,
                }
            })
            .collect(),
    })
}

pub fn crosstab(
    model: &Model,
    req: &GetCrossTabRequest,
    access: &Access,
) -> Result<GetCrossTabResponse, DomainError> {
    let (program_id, (rows, columns), limit, period) = (
        convert::program_id(&req.program_id),
        crosstab_dimensions(req),
        academy_domain::text::in_range("limit", req.limit, 0, MAX_CELLS as i32),
        convert::period("period", req.period.as_ref()),
    )
        .all_valid()?;
    access.program(program_id.as_deref())?;
    let scope = Scope::resolve(model, program_id.as_deref())?;
    let slice = access.slice(model);
    let mut cells: Vec<CrossTabRow> =
        crosstab::crosstab(model, &scope, &period, rows, columns, slice.as_ref())
            .into_iter()
            .map(convert::crosstab_row)
            .collect();
    if !access.exact {
        suppress::crosstab(&mut cells, access.min_cell_size);
    }
    cells.sort_by(|a, b| {
        b.enrollments
            .cmp(&a.enrollments)
            .then_with(|| a.row_key.cmp(&b.row_key))
            .then_with(|| a.column_key.cmp(&b.column_key))
    });
    let limit = if limit == 0 {
        MAX_CELLS
    } else {
        limit as usize
    };
    let truncated = cells.len() > limit;
    cells.truncate(limit);
    Ok(GetCrossTabResponse {
        rows: cells,
        row_dimension: req.row_dimension,
        column_dimension: req.column_dimension,
        start_date: Some(date(period.start)),
        end_date: Some(date(period.end)),
        truncated,
    })
}

/// A dimension a cross-tab can split by (SKILL cannot: its rows overlap).
/// The two dimensions of a cross-tab: each one a cross-tab can split by,
/// and not the same twice.
fn crosstab_dimensions(
    req: &GetCrossTabRequest,
) -> Result<(breakdown::Dimension, breakdown::Dimension), Vec<academy_domain::FieldViolation>> {
    let (rows, columns) = (
        crosstab_dimension("row_dimension", req.row_dimension),
        crosstab_dimension("column_dimension", req.column_dimension),
    )
        .all_valid_or_violations()?;
    if rows == columns {
        return Err(vec![academy_domain::FieldViolation::new(
            "column_dimension",
            "must differ from row_dimension",
        )]);
    }
    Ok((rows, columns))
}

fn crosstab_dimension(
    field: &str,
    raw: i32,
) -> Result<breakdown::Dimension, academy_domain::FieldViolation> {
    let dimension = convert::dimension(raw).map_err(|_| {
        academy_domain::FieldViolation::new(field, "must be one of the DIMENSION_* values")
    })?;
    if crosstab::supported(dimension) {
        Ok(dimension)
    } else {
        Err(academy_domain::FieldViolation::new(
            field,
            "a cross-tab splits by learner attributes or COURSE, not SKILL",
        ))
    }
}
