//! RecordProgress: a module done, or the course provider's report of the
//! enrollment as a whole (percent, grade, completion, total minutes). The
//! completion is dated by business time (the evidence, not the arrival
//! order) and issues the certificate and earns the course's skills in the
//! same transaction as the progress itself; later, earlier evidence
//! re-dates them. Progress after completion is taken; into an archived
//! course only history from while it was published.

use academy_domain::{AllValid, DomainError, FieldViolation, id, text};
use academy_proto::events::{
    CertificateIssued, CompletionRedated, EnrollmentCompleted, ProgressRecorded, ProgressReported,
    event::Payload,
};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::write::UnitOfWork;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::Context;
use super::enrollments::load;
use super::keys::Resolver;
use crate::convert;
use crate::course_client::Openness;
use crate::domain::{self, EnrollmentState, MAX_MINUTES_PER_RECORD, split_ids};
use crate::entity::{certificate, enrollment, progress_record};
use crate::store::certificates;
use crate::store::enrollments::{self, ProgressUpdate};
use academy_runtime::observability::trace::TraceContext;

const RECORD: &str = "RecordProgress";

/// The most minutes a provider may report as an enrollment's total.
pub const MAX_TOTAL_MINUTES: i32 = 10_000_000;

struct Request {
    enrollment_id: String,
    what: Row,
    minutes: i32,
    /// Business time of the row's activity, and the field it came from.
    at: DateTime<Utc>,
    at_field: &'static str,
    key: Option<Key>,
}

enum Row {
    Module(String),
    Provider(ProviderRow),
}

/// A provider's report of the enrollment as a whole.
struct ProviderRow {
    percent: Option<i32>,
    grade_centi: Option<i32>,
    completed: bool,
    /// When, if the row says; else the row's activity time.
    completed_at: Option<DateTime<Utc>>,
    total_minutes: Option<i32>,
}

/// The provider fields a row sets, by name (a module row sets none).
fn provider_fields(req: &pb::RecordProgressRequest) -> Vec<&'static str> {
    [
        ("percent_complete", req.percent_complete.is_some()),
        ("grade", req.grade.is_some()),
        ("completed", req.completed),
        ("completed_at", req.completed_at.is_some()),
        ("last_activity_at", req.last_activity_at.is_some()),
        ("total_minutes", req.total_minutes.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

fn parse(req: &pb::RecordProgressRequest, now: DateTime<Utc>) -> Result<Request, DomainError> {
    let (enrollment_id, minutes, (at_field, at), request_id, what) = (
        id::parse_id("enrollment_id", &req.enrollment_id),
        text::in_range(
            "minutes_spent",
            req.minutes_spent,
            0,
            MAX_MINUTES_PER_RECORD,
        ),
        activity_time(req, now),
        idempotency::parse_request_id(&req.request_id),
        row(req, now),
    )
        .all_valid()?;
    Ok(Request {
        enrollment_id,
        what,
        minutes,
        at,
        at_field,
        key: Key::new(RECORD, request_id.as_deref(), req),
    })
}

/// The row's business time and the field it came from: `occurred_at` for a
/// module row, `last_activity_at` for a provider's (never both), else now.
fn activity_time(
    req: &pb::RecordProgressRequest,
    now: DateTime<Utc>,
) -> Result<(&'static str, DateTime<Utc>), Vec<FieldViolation>> {
    let (field, value) = match (&req.occurred_at, &req.last_activity_at) {
        (Some(_), Some(_)) => {
            return Err(vec![FieldViolation::new(
                "last_activity_at",
                "set occurred_at or last_activity_at, not both",
            )]);
        }
        (None, Some(at)) => ("last_activity_at", Some(at)),
        (at, None) => ("occurred_at", at.as_ref()),
    };
    convert::business_time(field, value, now)
        .map(|at| (field, at))
        .map_err(|v| vec![v])
}

/// A module row (module_id) or a provider row (any provider field), never both.
fn row(req: &pb::RecordProgressRequest, now: DateTime<Utc>) -> Result<Row, Vec<FieldViolation>> {
    let provider = provider_fields(req);
    match provider.first() {
        None => id::parse_id("module_id", &req.module_id)
            .map(Row::Module)
            .map_err(|v| vec![v]),
        Some(first) => {
            let mixed = if req.module_id.trim().is_empty() {
                Ok(())
            } else {
                Err(FieldViolation::new(
                    *first,
                    "a module row carries no provider progress: send it as a row of its own, without module_id",
                ))
            };
            let ((), provider) = (mixed, parse_provider(req, now)).all_valid_or_violations()?;
            Ok(Row::Provider(provider))
        }
    }
}

fn parse_provider(
    req: &pb::RecordProgressRequest,
    now: DateTime<Utc>,
) -> Result<ProviderRow, Vec<FieldViolation>> {
    let percent = req
        .percent_complete
        .map(|p| text::in_range("percent_complete", p, 0, 100))
        .transpose();
    let grade_centi = req
        .grade
        .map(|g| {
            if g.is_finite() && (0.0..=100.0).contains(&g) {
                Ok((g * 100.0).round() as i32)
            } else {
                Err(FieldViolation::new(
                    "grade",
                    format!("must be between 0 and 100 (got {g})"),
                ))
            }
        })
        .transpose();
    let completed_at = match (&req.completed_at, req.completed) {
        (Some(_), false) => Err(FieldViolation::new(
            "completed_at",
            "is set only when completed is true",
        )),
        (None, _) => Ok(None),
        (Some(at), true) => convert::business_time("completed_at", Some(at), now).map(Some),
    };
    let total_minutes = if req.total_minutes.is_some() && req.minutes_spent != 0 {
        Err(FieldViolation::new(
            "total_minutes",
            "set minutes_spent or total_minutes, not both",
        ))
    } else {
        req.total_minutes
            .map(|m| text::in_range("total_minutes", m, 0, MAX_TOTAL_MINUTES))
            .transpose()
    };
    let (percent, grade_centi, completed_at, total_minutes) =
        (percent, grade_centi, completed_at, total_minutes).all_valid_or_violations()?;
    Ok(ProviderRow {
        percent,
        grade_centi,
        completed: req.completed,
        completed_at,
        total_minutes,
    })
}

pub async fn record(
    ctx: &Context,
    mut req: pb::RecordProgressRequest,
    trace: TraceContext,
) -> Result<pb::Enrollment, DomainError> {
    Resolver::default()
        .progress_row(ctx, &mut req, &trace)
        .await?;
    let req = parse(&req, Utc::now())?;
    if idempotency::replayed(&ctx.db, req.key.as_ref())
        .await?
        .is_none()
    {
        let mut openings = Openings::default();
        let open = openings
            .of_enrollments(ctx, [req.enrollment_id.as_str()], &trace)
            .await?;
        match apply(ctx, &req, open.get(&req.enrollment_id).cloned()).await {
            Ok(()) => {}
            Err(err) => {
                idempotency::recover(&ctx.db, req.key.as_ref(), err, || {
                    DomainError::internal("progress conflicted without a request id")
                })
                .await?;
            }
        }
    }
    load(ctx, &req.enrollment_id).await
}

/// The course service's answers on whether each course takes activity,
/// cached for a stream.
#[derive(Debug, Default)]
struct Openings {
    courses: HashMap<String, Result<Openness, DomainError>>,
}

impl Openings {
    /// Openness of the course of each enrollment named that exists (the
    /// others are refused later, NOT_FOUND). Only UNAVAILABLE fails the call.
    async fn of_enrollments<'a>(
        &mut self,
        ctx: &Context,
        ids: impl IntoIterator<Item = &'a str>,
        trace: &TraceContext,
    ) -> Result<HashMap<String, Result<Openness, DomainError>>, DomainError> {
        let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
        let courses = enrollments::course_ids_of(&ctx.db, ids)
            .await
            .map_err(db_error)?;
        let mut out = HashMap::with_capacity(courses.len());
        for (enrollment_id, course_id) in courses {
            if !self.courses.contains_key(&course_id) {
                let answer = ctx.courses.course_info(&course_id, trace).await;
                if let Err(DomainError::Unavailable { what }) = answer {
                    return Err(DomainError::Unavailable { what });
                }
                self.courses
                    .insert(course_id.clone(), answer.map(|c| c.open));
            }
            if let Some(answer) = self.courses.get(&course_id) {
                out.insert(enrollment_id, answer.clone());
            }
        }
        Ok(out)
    }
}

async fn apply(
    ctx: &Context,
    req: &Request,
    open: Option<Result<Openness, DomainError>>,
) -> Result<(), WriteError> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    if let Some(events) = apply_in(&uow, req, open).await? {
        uow.emit_many(events).await?;
        uow.commit().await?;
    }
    Ok(())
}

type Events = Vec<(DateTime<Utc>, Payload)>;

/// Applies one progress row in `uow`; returns its events, or `None` when
/// its request id was used before. Every check comes before any write, so a
/// refused row leaves the transaction usable for the next one. `open` is
/// the course's openness (None: not asked, as the enrollment was not found).
async fn apply_in(
    uow: &UnitOfWork<'_>,
    req: &Request,
    open: Option<Result<Openness, DomainError>>,
) -> Result<Option<Events>, WriteError> {
    let txn = uow.txn();
    if uow.replayed(req.key.as_ref()).await?.is_some() {
        return Ok(None);
    }
    let row = enrollments::get_for_update(txn, &req.enrollment_id)
        .await?
        .ok_or_else(|| DomainError::not_found("enrollment", &req.enrollment_id))?;
    let state = EnrollmentState::from_stored(&row.state)?;
    state.ensure_takes_progress()?;
    let open = open.ok_or_else(|| DomainError::internal("course openness not asked"))??;
    if req.at < row.enroll_time {
        return Err(DomainError::invalid(
            req.at_field,
            "must not be before the enrollment's enroll_time",
        )
        .into());
    }
    open.admits(req.at)?;
    let modules = split_ids(&row.module_ids);
    let mut completed_modules = split_ids(&row.completed_module_ids);
    let mut percent_complete = row.percent_complete;
    let mut grade_centi = row.grade_centi;
    let mut add_minutes = i64::from(req.minutes);
    // The business completion time this row's evidence shows, if any.
    let evidence: Option<DateTime<Utc>>;
    let mut module_event = None;
    match &req.what {
        Row::Module(module_id) => {
            if !modules.contains(module_id) {
                return Err(DomainError::invalid(
                    "module_id",
                    "is not a module of this enrollment's course",
                )
                .into());
            }
            let progress = domain::record_progress(&modules, &completed_modules, module_id);
            let mut earliest: HashMap<String, DateTime<Utc>> =
                enrollments::earliest_per_module(txn, &row.id)
                    .await?
                    .into_iter()
                    .collect();
            let first = earliest.entry(module_id.clone()).or_insert(req.at);
            *first = (*first).min(req.at);
            evidence = domain::modules_complete_at(&modules, &earliest);
            completed_modules = progress.completed;
            module_event = Some((progress.first_completion, progress.percent));
        }
        Row::Provider(p) => {
            let completed_at = p.completed.then(|| p.completed_at.unwrap_or(req.at));
            if let Some(at) = completed_at {
                if at < row.enroll_time {
                    return Err(DomainError::invalid(
                        "completed_at",
                        "must not be before the enrollment's enroll_time",
                    )
                    .into());
                }
                open.admits(at)?;
            }
            evidence = completed_at;
            if let Some(p) = p.percent {
                percent_complete = percent_complete.max(p);
            }
            if p.grade_centi.is_some() {
                grade_centi = p.grade_centi;
            }
            if let Some(total) = p.total_minutes {
                add_minutes += (i64::from(total) - row.minutes_spent).max(0);
            }
        }
    }
    // Completion only ever moves earlier: the earliest evidence wins.
    let complete_time = match (row.complete_time, evidence) {
        (Some(was), Some(now)) => Some(was.min(now)),
        (was, now) => was.or(now),
    };
    let newly_completed = row.complete_time.is_none() && complete_time.is_some();
    let redated = row
        .complete_time
        .zip(complete_time)
        .filter(|(was, now)| now < was)
        .map(|(was, _)| was);
    let new_state = if complete_time.is_some() {
        EnrollmentState::Completed
    } else {
        EnrollmentState::InProgress
    };
    let now = Utc::now();
    let update = ProgressUpdate {
        state: new_state,
        completed_module_ids: &completed_modules,
        add_minutes,
        complete_time,
        percent_complete,
        grade_centi,
        last_activity_time: Some(row.last_activity_time.map_or(req.at, |t| t.max(req.at))),
    };
    enrollments::apply_progress(txn, &row.id, &update, now).await?;
    if let Row::Module(module_id) = &req.what {
        enrollments::record(
            txn,
            progress_record::Model {
                id: id::new_id(),
                enrollment_id: row.id.clone(),
                module_id: module_id.clone(),
                minutes_spent: req.minutes,
                occurred_at: req.at,
                create_time: now,
            },
        )
        .await?;
    }
    uow.remember(RECORD, req.key.as_ref(), &row.id).await?;
    let (enrollment_id, learner_id, course_id, program_id) = convert::enrollment_keys(&row);
    let mut events = vec![(
        req.at,
        match (&req.what, module_event) {
            (Row::Module(module_id), Some((first, percent))) => {
                Payload::ProgressRecorded(ProgressRecorded {
                    enrollment_id: enrollment_id.clone(),
                    learner_id: learner_id.clone(),
                    course_id: course_id.clone(),
                    program_id: program_id.clone(),
                    module_id: module_id.clone(),
                    minutes_spent: req.minutes,
                    module_first_completed: first,
                    progress_percent: percent,
                })
            }
            _ => Payload::ProgressReported(ProgressReported {
                enrollment_id: enrollment_id.clone(),
                learner_id: learner_id.clone(),
                course_id: course_id.clone(),
                program_id: program_id.clone(),
                minutes_spent: i32::try_from(add_minutes).unwrap_or(i32::MAX),
                percent_complete,
            }),
        },
    )];
    match (complete_time, newly_completed, redated) {
        (Some(at), true, _) => events.extend(complete(txn, &row, at).await?),
        (Some(at), false, Some(was)) => {
            certificates::redate(txn, &row.id, at).await?;
            events.push((
                at,
                Payload::CompletionRedated(CompletionRedated {
                    enrollment_id,
                    learner_id,
                    course_id,
                    program_id,
                    previous_complete_time: Some(academy_runtime::time::timestamp(was)),
                }),
            ));
        }
        _ => {}
    }
    Ok(Some(events))
}

/// BulkRecordProgress: rows applied in batches of one transaction each.
pub async fn record_many(
    ctx: &Context,
    stream: tonic::Streaming<pb::RecordProgressRequest>,
    trace: TraceContext,
) -> Result<pb::BulkRecordProgressResponse, DomainError> {
    let mut tally = super::Tally::default();
    let mut resolver = Resolver::default();
    let mut openings = Openings::default();
    let mut batches = super::Batches::new(ctx, stream);
    while let Some(rows) = batches.next().await? {
        record_batch(ctx, rows, &mut tally, &mut resolver, &mut openings, &trace).await?;
    }
    super::import::record_rows("BulkRecordProgress", &tally);
    Ok(pb::BulkRecordProgressResponse {
        recorded: tally.created,
        duplicates: tally.duplicates,
        rejected: tally.rejected,
        rejected_count: tally.rejected_count,
    })
}

async fn record_batch(
    ctx: &Context,
    rows: Vec<(i64, pb::RecordProgressRequest)>,
    tally: &mut super::Tally,
    resolver: &mut Resolver,
    openings: &mut Openings,
    trace: &TraceContext,
) -> Result<(), DomainError> {
    if rows.is_empty() {
        return Ok(());
    }
    // External keys are resolved before the write transaction opens: no
    // call to the course service while it is held.
    let mut resolved = Vec::with_capacity(rows.len());
    for (index, mut raw) in rows {
        match resolver.progress_row(ctx, &mut raw, trace).await {
            Ok(()) => resolved.push((index, Ok(raw))),
            Err(DomainError::Unavailable { what }) => {
                return Err(DomainError::Unavailable { what });
            }
            Err(err) => resolved.push((index, Err(err))),
        }
    }
    let now = Utc::now();
    let parsed: Vec<(i64, Result<Request, DomainError>)> = resolved
        .into_iter()
        .map(|(index, raw)| (index, raw.and_then(|raw| parse(&raw, now))))
        .collect();
    // The courses' openness too is asked before the transaction opens.
    let open = openings
        .of_enrollments(
            ctx,
            parsed
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok().map(|r| r.enrollment_id.as_str())),
            trace,
        )
        .await?;
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox)
        .await
        .map_err(db_error)?;
    let (mut events, mut recorded, mut duplicates, mut rejected) = (Vec::new(), 0, 0, Vec::new());
    for (index, req) in parsed {
        let outcome = match req {
            Ok(req) => apply_in(&uow, &req, open.get(&req.enrollment_id).cloned()).await,
            Err(err) => Err(err.into()),
        };
        match outcome {
            Ok(Some(row_events)) => {
                recorded += 1;
                events.extend(row_events);
            }
            Ok(None) => duplicates += 1,
            Err(WriteError::Domain(err)) => rejected.push((index, err)),
            Err(err) => return Err(err.into()),
        }
    }
    uow.emit_many(events).await.map_err(db_error)?;
    uow.commit().await.map_err(db_error)?;
    tally.created += recorded;
    tally.duplicates += duplicates;
    for (index, err) in rejected {
        tally.reject(index, err);
    }
    Ok(())
}

/// Issues the certificate and earns the skills; returns their events.
async fn complete(
    txn: &sea_orm::DatabaseTransaction,
    row: &enrollment::Model,
    at: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, Payload)>, WriteError> {
    let skill_ids = split_ids(&row.skill_ids);
    let cert = certificate::Model {
        id: id::new_id(),
        code: domain::certificate_code(),
        enrollment_id: row.id.clone(),
        learner_id: row.learner_id.clone(),
        course_id: row.course_id.clone(),
        issue_time: at,
    };
    certificates::issue(txn, cert.clone()).await?;
    certificates::earn_skills(txn, &row.id, &row.learner_id, &skill_ids, at).await?;
    let (enrollment_id, learner_id, course_id, program_id) = convert::enrollment_keys(row);
    Ok(vec![
        (
            at,
            Payload::EnrollmentCompleted(EnrollmentCompleted {
                enrollment_id: enrollment_id.clone(),
                learner_id: learner_id.clone(),
                course_id: course_id.clone(),
                program_id: program_id.clone(),
                skill_ids,
            }),
        ),
        (
            at,
            Payload::CertificateIssued(CertificateIssued {
                certificate_id: cert.id,
                enrollment_id,
                learner_id,
                course_id,
                program_id,
            }),
        ),
    ])
}
