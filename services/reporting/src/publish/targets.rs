//! Targets: SetTarget and ListTargets, and the attainment each summary and
//! breakdown answer carries.

use academy_domain::{AllValid, DomainError, FieldViolation, Period, text};
use academy_proto::reporting as pb;
use academy_runtime::db::db_error;
use academy_runtime::time::{date, parse_date};
use academy_runtime::write::UnitOfWork;
use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};
use std::sync::Arc;

use super::Publisher;
use super::store::statement;
use crate::convert;
use crate::figures::{Scope, breakdown};

/// Longest dimension key accepted (organisations are free text).
const MAX_KEY: usize = 200;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The value of `metric` in a summary, if it has one.
fn summary_value(s: &pb::ProgramSummary, metric: i32) -> Option<f64> {
    s.figures().metric(pb::Metric::try_from(metric).ok()?)
}

/// The value of `metric` in a breakdown row, if rows carry it.
fn row_value(r: &pb::BreakdownRow, metric: i32) -> Option<f64> {
    use pb::Metric as M;
    match M::try_from(metric).ok()? {
        M::NewLearners => Some(r.new_learners as f64),
        M::Enrollments => Some(r.enrollments as f64),
        M::Completions => Some(r.completions as f64),
        M::LearningHours => Some(r.learning_hours),
        M::Invited => Some(r.invited as f64),
        M::Joined => Some(r.joined as f64),
        _ => None,
    }
}

fn attainment(t: &pb::Target, actual: f64) -> pb::TargetAttainment {
    pb::TargetAttainment {
        metric: t.metric,
        target: t.value,
        actual,
        attainment: if t.value == 0.0 {
            0.0
        } else {
            actual / t.value
        },
        // A headline target's attainment encodes exactly as before share
        // targets existed (published digests depend on it).
        dimension: if t.share { t.dimension } else { 0 },
        key: if t.share {
            t.key.clone()
        } else {
            String::new()
        },
        share: t.share,
    }
}

/// `part` as a percentage of `total`; 0 when the total is 0.
fn percent(part: f64, total: f64) -> f64 {
    if total == 0.0 {
        0.0
    } else {
        100.0 * part / total
    }
}

/// A share target's attainment: the key's figure in `row` (the caller's
/// view; absent: 0) against the dimension's `total`.
fn share_attainment(
    t: &pb::Target,
    row: Option<&pb::BreakdownRow>,
    total: &pb::BreakdownRow,
) -> Option<pb::TargetAttainment> {
    let total = row_value(total, t.metric)?;
    let part = match row {
        Some(r) => row_value(r, t.metric)?,
        None => 0.0,
    };
    Some(attainment(t, percent(part, total)))
}

/// The dimensions the share targets among `targets` are set on: the
/// breakdowns (see `reports::share_basis`) `on_summary` needs.
pub fn share_dimensions(targets: &[pb::Target]) -> std::collections::BTreeSet<i32> {
    targets
        .iter()
        .filter(|t| t.share)
        .map(|t| t.dimension)
        .collect()
}

/// Puts the headline targets, then the share targets, on `summary`.
/// `bases` holds, for each of `share_dimensions`, the breakdown as the
/// caller sees it and the dimension's total.
pub fn on_summary(
    summary: &mut pb::ProgramSummary,
    targets: &[pb::Target],
    bases: &[(pb::GetBreakdownResponse, pb::BreakdownRow)],
) {
    let headline = targets
        .iter()
        .filter(|t| t.dimension == 0 && !t.share)
        .filter_map(|t| summary_value(summary, t.metric).map(|v| attainment(t, v)));
    let shares = targets.iter().filter(|t| t.share).filter_map(|t| {
        let (answer, total) = bases.iter().find(|(b, _)| b.dimension == t.dimension)?;
        share_attainment(t, answer.rows.iter().find(|r| r.key == t.key), total)
    });
    summary.targets = headline.chain(shares).collect();
}

/// Puts each row's targets on the rows of `answer`: absolute ones, then
/// shares of `total`, the dimension's total.
pub fn on_breakdown(
    answer: &mut pb::GetBreakdownResponse,
    targets: &[pb::Target],
    total: &pb::BreakdownRow,
) {
    for row in &mut answer.rows {
        let mine = || {
            targets
                .iter()
                .filter(|t| t.dimension == answer.dimension && t.key == row.key)
        };
        let absolute = mine()
            .filter(|t| !t.share)
            .filter_map(|t| row_value(row, t.metric).map(|v| attainment(t, v)));
        let shares = mine()
            .filter(|t| t.share)
            .filter_map(|t| share_attainment(t, Some(row), total));
        let all: Vec<_> = absolute.chain(shares).collect();
        row.targets = all;
    }
}

/// Whether `key` is a value of `dimension`: among the rows of its
/// breakdown over all time on the platform (the fixed dimensions list every
/// value; courses, skills and organisations those seen in the data).
fn known_key(model: &crate::engine::Model, dimension: breakdown::Dimension, key: &str) -> bool {
    let all_time = Period {
        start: NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN),
        end: NaiveDate::from_ymd_opt(2999, 12, 31).unwrap_or(NaiveDate::MAX),
        half: None,
    };
    breakdown::breakdown(model, &Scope { program: None }, &all_time, dimension, None)
        .iter()
        .any(|r| r.key == key)
}

/// A target's dimension: none (0, a figure of the whole scope) or a valid one.
fn optional_dimension(raw: i32) -> Result<Option<breakdown::Dimension>, FieldViolation> {
    if raw == 0 {
        Ok(None)
    } else {
        convert::dimension(raw).map(Some)
    }
}

/// A target's value: a finite count or rate, and a percentage for a share
/// target, which also needs a dimension to be a share of.
fn target_value(req: &pb::SetTargetRequest) -> Result<(), Vec<FieldViolation>> {
    let mut violations = Vec::new();
    if !req.value.is_finite() || req.value < 0.0 {
        violations.push(FieldViolation::new(
            "value",
            "must be a finite number, not negative",
        ));
    } else if req.share && req.value > 100.0 {
        violations.push(FieldViolation::new(
            "value",
            "a share is a percentage: at most 100",
        ));
    }
    if req.share && req.dimension == 0 {
        violations.push(FieldViolation::new(
            "dimension",
            "a share target needs a dimension (the share is of its total)",
        ));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

impl Publisher {
    pub async fn set_target(&self, req: &pb::SetTargetRequest) -> Result<pb::Target, DomainError> {
        let (program_id, period, _metric, dimension, key, ()) = (
            convert::program_id(&req.program_id),
            convert::period("period", req.period.as_ref()),
            convert::metric(req.metric),
            optional_dimension(req.dimension),
            text::optional("key", &req.key, MAX_KEY),
            target_value(req),
        )
            .all_valid()?;
        let target = pb::Target {
            program_id: program_id.clone().unwrap_or_default(),
            start_date: Some(date(period.start)),
            end_date: Some(date(period.end)),
            metric: req.metric,
            dimension: req.dimension,
            key: key.clone(),
            value: req.value,
            share: req.share,
        };
        {
            let model = self.engine.read()?;
            Scope::resolve(&model, program_id.as_deref())?;
            match dimension {
                None if !key.is_empty() => {
                    return Err(DomainError::invalid("key", "needs a dimension"));
                }
                None => {}
                // (An organisation's "" is a key: learners with none.)
                Some(d)
                    if key.is_empty() && req.share && d != breakdown::Dimension::Organization =>
                {
                    return Err(DomainError::invalid(
                        "key",
                        "a share target needs the key whose share it is",
                    ));
                }
                Some(d) => {
                    let probe = pb::BreakdownRow::default();
                    if row_value(&probe, req.metric).is_none() {
                        return Err(DomainError::invalid(
                            "metric",
                            "a breakdown row carries only NEW_LEARNERS, ENROLLMENTS, COMPLETIONS and LEARNING_HOURS",
                        ));
                    }
                    if !known_key(&model, d, &key) {
                        return Err(DomainError::invalid(
                            "key",
                            format!(
                                "{} is not a value of this dimension",
                                text::excerpt(&key, 40)
                            ),
                        ));
                    }
                }
            }
        }
        let uow = UnitOfWork::begin_without_feed(&self.db)
            .await
            .map_err(db_error)?;
        let write = async {
            upsert(uow.txn(), &target, period.start, period.end).await?;
            uow.audit("SetTarget", &target.program_id).await
        };
        let written = match write.await {
            Ok(()) => uow.commit().await.map_err(db_error),
            Err(err) => {
                let _ = uow.rollback().await;
                Err(db_error(err))
            }
        };
        // Also after a failed commit: whether it landed is unknown.
        self.target_cache.invalidate();
        written?;
        Ok(target)
    }

    pub async fn list_targets(
        &self,
        req: &pb::ListTargetsRequest,
    ) -> Result<pb::ListTargetsResponse, DomainError> {
        let (program_id, period) =
            convert::program_and_period(&req.program_id, req.period.as_ref())?;
        let targets = self
            .targets(
                program_id.as_deref().unwrap_or(""),
                period.start,
                period.end,
            )
            .await?;
        Ok(pb::ListTargetsResponse { targets })
    }

    /// The targets of exactly this program ("" platform) and period.
    pub async fn targets(
        &self,
        program_id: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<pb::Target>, DomainError> {
        select(&self.db, program_id, start, end)
            .await
            .map_err(db_error)
    }

    /// The targets for an answer about `program_id` (as the request gave
    /// it, already validated) between the answer's dates, from the cache
    /// (see `target_cache.rs`: at most a few seconds behind another
    /// replica's SetTarget).
    pub async fn targets_for(
        &self,
        program_id: &str,
        start: Option<&academy_proto::google::r#type::Date>,
        end: Option<&academy_proto::google::r#type::Date>,
    ) -> Result<Arc<Vec<pb::Target>>, DomainError> {
        let program = convert::program_id(program_id)?.unwrap_or_default();
        let (Ok(start), Ok(end)) = (parse_date("start_date", start), parse_date("end_date", end))
        else {
            return Err(DomainError::internal("an answer without its dates"));
        };
        let key = (program, start, end);
        let generation = match self.target_cache.get(&key) {
            Ok(targets) => return Ok(targets),
            Err(generation) => generation,
        };
        let targets = Arc::new(self.targets(&key.0, start, end).await?);
        self.target_cache.store(key, generation, targets.clone());
        Ok(targets)
    }
}

async fn upsert<C: ConnectionTrait>(
    txn: &C,
    t: &pb::Target,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(), DbErr> {
    txn.execute_raw(statement(
        txn,
        "INSERT INTO r_target (program_id, period_start, period_end, metric, dimension, \
             key, share, value, set_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (program_id, period_start, period_end, metric, dimension, key, share) \
             DO UPDATE SET value = excluded.value, set_time = excluded.set_time",
        [
            Value::from(t.program_id.as_str()),
            Value::from(day(start)),
            Value::from(day(end)),
            Value::from(t.metric),
            Value::from(t.dimension),
            Value::from(t.key.as_str()),
            Value::from(t.share),
            Value::from(t.value),
            Value::from(Utc::now()),
        ],
    ))
    .await?;
    Ok(())
}

async fn select<C: ConnectionTrait>(
    db: &C,
    program_id: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<pb::Target>, DbErr> {
    let rows = db
        .query_all_raw(statement(
            db,
            "SELECT metric, dimension, key, share, value FROM r_target \
                 WHERE program_id = ? AND period_start = ? AND period_end = ? \
                 ORDER BY share, dimension, key, metric",
            [
                Value::from(program_id),
                Value::from(day(start)),
                Value::from(day(end)),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(pb::Target {
                program_id: program_id.to_owned(),
                start_date: Some(date(start)),
                end_date: Some(date(end)),
                metric: r.try_get("", "metric")?,
                dimension: r.try_get("", "dimension")?,
                key: r.try_get("", "key")?,
                value: r.try_get("", "value")?,
                share: r.try_get("", "share")?,
            })
        })
        .collect()
}
