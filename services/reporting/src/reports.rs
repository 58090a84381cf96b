//! One function per report RPC: validate, resolve the scope, query, convert.
//! ExportReport reuses them so the CSV always carries the same numbers.

use academy_domain::{DomainError, Period, Violations};
use academy_proto::reporting::*;
use academy_runtime::time::date;

use crate::convert;
use crate::engine::Model;
use crate::report::{Scope, breakdown, funnel, rate, series, summary};

/// Largest breakdown answered.
pub const MAX_ROWS: usize = 1000;

/// Adds the period's violations to `v`; the period when it is valid.
pub(crate) fn period(
    v: &mut Violations,
    value: Option<&academy_proto::reporting::Period>,
) -> Result<Option<Period>, DomainError> {
    match convert::period("period", value) {
        Ok(p) => Ok(Some(p)),
        Err(DomainError::InvalidArgument { violations }) => {
            violations.into_iter().for_each(|x| v.push(x));
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

fn missing() -> DomainError {
    DomainError::internal("validation passed with a missing field")
}

pub fn summary(
    model: &Model,
    req: &GetProgramSummaryRequest,
) -> Result<ProgramSummary, DomainError> {
    let mut v = Violations::new();
    let program_id = v.check(convert::program_id(&req.program_id)).flatten();
    let period = period(&mut v, req.period.as_ref())?;
    v.finish()?;
    let period = period.ok_or_else(missing)?;
    let scope = Scope::resolve(model, program_id.as_deref())?;
    let before = period.previous();
    let current = summary::figures(model, &scope, &period);
    let previous = summary::figures(model, &scope, &before);
    let mut answer = convert::summary(&current, &period, &previous, &before);
    let year_ago = summary::year_before(&period);
    let then = summary::figures(model, &scope, &year_ago);
    answer.year_before = Some(convert::period_figures(&then, &year_ago));
    answer.year_on_year_growth =
        summary::growth_rate(current.registered_learners, then.registered_learners);
    Ok(answer)
}

pub fn breakdown(
    model: &Model,
    req: &GetBreakdownRequest,
) -> Result<GetBreakdownResponse, DomainError> {
    let mut v = Violations::new();
    let program_id = v.check(convert::program_id(&req.program_id)).flatten();
    let dimension = v.check(convert::dimension(req.dimension));
    let limit = v.check(academy_domain::text::in_range(
        "limit",
        req.limit,
        0,
        MAX_ROWS as i32,
    ));
    let period = period(&mut v, req.period.as_ref())?;
    v.finish()?;
    let (Some(dimension), Some(limit), Some(period)) = (dimension, limit, period) else {
        return Err(missing());
    };
    let scope = Scope::resolve(model, program_id.as_deref())?;
    let mut rows = breakdown::breakdown(model, &scope, &period, dimension);
    rows.sort_by(|a, b| {
        b.enrollments
            .cmp(&a.enrollments)
            .then_with(|| a.key.cmp(&b.key))
    });
    rows.truncate(if limit == 0 { MAX_ROWS } else { limit as usize });
    Ok(GetBreakdownResponse {
        rows: rows.into_iter().map(convert::breakdown_row).collect(),
        dimension: req.dimension,
        start_date: Some(date(period.start)),
        end_date: Some(date(period.end)),
    })
}

pub fn time_series(
    model: &Model,
    req: &GetTimeSeriesRequest,
) -> Result<GetTimeSeriesResponse, DomainError> {
    let mut v = Violations::new();
    let program_id = v.check(convert::program_id(&req.program_id)).flatten();
    let metric = v.check(convert::metric(req.metric));
    let granularity = v.check(convert::granularity(req.granularity));
    let range = match convert::date_range(req.start_date.as_ref(), req.end_date.as_ref()) {
        Ok(p) => Some(p),
        Err(DomainError::InvalidArgument { violations }) => {
            violations.into_iter().for_each(|x| v.push(x));
            None
        }
        Err(other) => return Err(other),
    };
    v.finish()?;
    let (Some(metric), Some(granularity), Some(range)) = (metric, granularity, range) else {
        return Err(missing());
    };
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

pub fn funnel(model: &Model, req: &GetFunnelRequest) -> Result<GetFunnelResponse, DomainError> {
    let mut v = Violations::new();
    let program_id = v.check(convert::program_id(&req.program_id)).flatten();
    let period = period(&mut v, req.period.as_ref())?;
    v.finish()?;
    let period = period.ok_or_else(missing)?;
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
