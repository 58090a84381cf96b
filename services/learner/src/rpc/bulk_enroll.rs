//! BulkEnroll: a client stream of EnrollRequests, committed in batches, with
//! per-row results. Course answers are cached for the stream (a national
//! cohort enrolls in a few dozen courses); if the course service is down the
//! stream fails with UNAVAILABLE and the batches committed so far stay.

use academy_domain::{DomainError, id};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::Key;
use academy_runtime::observability::trace::TraceContext;
use academy_runtime::write::UnitOfWork;
use chrono::Utc;
use sea_orm::DbErr;
use std::collections::{HashMap, HashSet};
use tonic::Streaming;

use super::enrollments::{self as single, ENROLL, EnrollRow};
use super::keys::Resolver;
use super::{Context, Tally};
use crate::course_client::CourseInfo;
use crate::domain::LearnerState;
use crate::store::{enrollments, learners};

/// What the course service said about each course and program pair.
#[derive(Debug, Default)]
struct Answers {
    courses: HashMap<String, Result<CourseInfo, DomainError>>,
    programs: HashMap<(String, String), Result<(), DomainError>>,
}

pub async fn bulk_enroll(
    ctx: &Context,
    stream: Streaming<pb::EnrollRequest>,
    trace: TraceContext,
) -> Result<pb::BulkEnrollResponse, DomainError> {
    let mut tally = Tally::default();
    let mut answers = Answers::default();
    let mut resolver = Resolver::default();
    let mut batches = super::Batches::new(ctx, stream);
    while let Some(rows) = batches.next().await? {
        enroll_batch(ctx, rows, &mut tally, &mut answers, &mut resolver, &trace).await?;
    }
    super::import::record_rows("BulkEnroll", &tally);
    Ok(pb::BulkEnrollResponse {
        created: tally.created,
        duplicates: tally.duplicates,
        rejected: tally.rejected,
        rejected_count: tally.rejected_count,
    })
}

struct Ready {
    row: EnrollRow,
    course: CourseInfo,
}

async fn enroll_batch(
    ctx: &Context,
    rows: Vec<(i64, pb::EnrollRequest)>,
    tally: &mut Tally,
    answers: &mut Answers,
    resolver: &mut Resolver,
    trace: &TraceContext,
) -> Result<(), DomainError> {
    let now = Utc::now();
    let mut parsed = Vec::with_capacity(rows.len());
    for (index, mut req) in rows {
        match resolver.enroll_row(ctx, &mut req, trace).await {
            Ok(()) => {}
            Err(DomainError::Unavailable { what }) => {
                return Err(DomainError::Unavailable { what });
            }
            Err(err) => {
                tally.reject(index, err);
                continue;
            }
        }
        match single::parse_enroll(&req, now) {
            Ok(row) => parsed.push((index, row)),
            Err(err) => tally.reject(index, err),
        }
    }
    let parsed = super::reject_reused(&ctx.db, parsed, |r| r.key.as_ref(), tally).await?;
    let learner_ids = parsed.iter().map(|(_, r)| r.learner_id.clone()).collect();
    let states: HashMap<String, String> = learners::get_many(&ctx.db, learner_ids)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|l| (l.id, l.state))
        .collect();
    let mut ready = Vec::with_capacity(parsed.len());
    for (index, row) in parsed {
        match check_row(ctx, &row, &states, answers, trace).await {
            Ok(course) => ready.push(Ready { row, course }),
            Err(DomainError::Unavailable { what }) => {
                return Err(DomainError::Unavailable { what });
            }
            Err(err) => tally.reject(index, err),
        }
    }
    tally.commit_batch(|| insert_new(ctx, &ready)).await
}

/// The checks Enroll makes, with the course service's answers cached.
async fn check_row(
    ctx: &Context,
    row: &EnrollRow,
    states: &HashMap<String, String>,
    answers: &mut Answers,
    trace: &TraceContext,
) -> Result<CourseInfo, DomainError> {
    let state = states
        .get(&row.learner_id)
        .ok_or_else(|| DomainError::not_found("learner", &row.learner_id))?;
    LearnerState::from_stored(state)?.ensure_active()?;
    if !answers.courses.contains_key(&row.course_id) {
        let answer = ctx.courses.course_info(&row.course_id, trace).await;
        if let Err(DomainError::Unavailable { what }) = answer {
            return Err(DomainError::Unavailable { what });
        }
        answers.courses.insert(row.course_id.clone(), answer);
    }
    let course = answers
        .courses
        .get(&row.course_id)
        .cloned()
        .unwrap_or_else(|| Err(DomainError::internal("course answer missing")))?;
    course.open.admits(row.enroll_time)?;
    if let Some(program_id) = &row.program_id {
        let key = (program_id.clone(), row.course_id.clone());
        if !answers.programs.contains_key(&key) {
            let answer = ctx
                .courses
                .ensure_program_includes(program_id, &row.course_id, trace)
                .await;
            if let Err(DomainError::Unavailable { what }) = answer {
                return Err(DomainError::Unavailable { what });
            }
            answers.programs.insert(key.clone(), answer);
        }
        answers.programs.get(&key).cloned().unwrap_or(Ok(()))?;
    }
    Ok(course)
}

/// Inserts the rows that are not duplicates; returns (created, duplicates).
/// Rows whose request id was used before are duplicates; the unique active
/// key decides the rest.
async fn insert_new(ctx: &Context, rows: &[Ready]) -> Result<(i64, i64), DbErr> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let txn = uow.txn();
    let keys: Vec<&Key> = rows.iter().filter_map(|r| r.row.key.as_ref()).collect();
    let mut used = uow.used(&keys).await?;
    let now = Utc::now();
    let mut candidates = Vec::with_capacity(rows.len());
    let mut inserts = Vec::with_capacity(rows.len());
    for ready in rows {
        // A request id seen before, also earlier in this batch, is a retry.
        if ready
            .row
            .key
            .as_ref()
            .is_some_and(|k| used.insert(k).is_some())
        {
            continue;
        }
        let id = id::new_id();
        inserts.push(enrollments::new_row(
            &single::new_enrollment(&id, &ready.row, &ready.course),
            now,
        ));
        candidates.push((id, ready));
    }
    let inserted: HashSet<String> = crate::store::insert_new(txn, inserts)
        .await?
        .into_iter()
        .collect();
    let (mut events, mut keys) = (Vec::new(), Vec::new());
    for (id, Ready { row, course }) in candidates.iter().filter(|(id, _)| inserted.contains(id)) {
        if let Some(key) = &row.key {
            keys.push((key.clone(), id.clone()));
        }
        events.push((row.enroll_time, single::created_event(id, row, course)));
        // The learner's invitation to the program joins (issue #17, item 4).
        if let Some(program_id) = &row.program_id {
            events.extend(
                super::invitations::join_on_enroll(
                    txn,
                    &row.learner_id,
                    program_id,
                    row.enroll_time,
                )
                .await?,
            );
        }
    }
    uow.remember_many(ENROLL, &keys).await?;
    if !events.is_empty() {
        uow.emit_many(events).await?;
    }
    uow.commit().await?;
    let created = inserted.len() as i64;
    Ok((created, rows.len() as i64 - created))
}
