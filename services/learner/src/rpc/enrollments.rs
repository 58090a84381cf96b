//! Handlers of the RPCs about enrollments: each validates its request, calls the
//! store and builds the answer (the tonic wiring is in `api.rs`).

use academy_domain::{AllValid, DomainError, FieldViolation, PageRequest, Violations, id};
use academy_proto::events::{EnrollmentCreated, EnrollmentWithdrawn, event::Payload};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::observability::trace::TraceContext;
use academy_runtime::write::UnitOfWork;
use chrono::{DateTime, Utc};

use super::Context;
use crate::convert;
use crate::course_client::CourseInfo;
use crate::domain::{EnrollmentState, LearnerState};
use crate::store::enrollments::{self, EnrollmentFilter, NewEnrollment};
use crate::store::learners;

pub const ENROLL: &str = "Enroll";

/// A validated EnrollRequest.
#[derive(Debug, Clone)]
pub struct EnrollRow {
    pub learner_id: String,
    pub course_id: String,
    pub program_id: Option<String>,
    pub key: Option<Key>,
    pub enroll_time: DateTime<Utc>,
}

pub fn parse_enroll(req: &pb::EnrollRequest, now: DateTime<Utc>) -> Result<EnrollRow, DomainError> {
    let (learner_id, course_id, program_id, request_id, enroll_time) = (
        id::parse_id("learner_id", &req.learner_id),
        id::parse_id("course_id", &req.course_id),
        id::parse_optional_id("program_id", &req.program_id),
        idempotency::parse_request_id(&req.request_id),
        convert::business_time("enrolled_at", req.enrolled_at.as_ref(), now),
    )
        .all_valid()?;
    Ok(EnrollRow {
        learner_id,
        course_id,
        program_id,
        key: Key::new(ENROLL, request_id.as_deref(), req),
        enroll_time,
    })
}

pub async fn enroll(
    ctx: &Context,
    req: pb::EnrollRequest,
    trace: TraceContext,
) -> Result<pb::Enrollment, DomainError> {
    let mut req = req;
    super::keys::Resolver::default()
        .enroll_row(ctx, &mut req, &trace)
        .await?;
    let row = parse_enroll(&req, Utc::now())?;
    if let Some(id) = idempotency::replayed(&ctx.db, row.key.as_ref()).await? {
        return load(ctx, &id).await;
    }
    let learner = learners::get(&ctx.db, &row.learner_id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("learner", &row.learner_id))?;
    LearnerState::from_stored(&learner.state)?.ensure_active()?;
    // Ask the course service before opening a transaction: nothing is
    // written unless it answers that the course can be enrolled in.
    let course = ctx
        .courses
        .enrollable_course(&row.course_id, row.enroll_time, &trace)
        .await?;
    if let Some(program_id) = &row.program_id {
        ctx.courses
            .ensure_program_includes(program_id, &row.course_id, &trace)
            .await?;
    }
    let id = id::new_id();
    let id = match insert(ctx, &id, &row, &course).await {
        Ok(id) => id,
        Err(err) => idempotency::recover(&ctx.db, row.key.as_ref(), err, already_enrolled).await?,
    };
    load(ctx, &id).await
}

fn already_enrolled() -> DomainError {
    DomainError::AlreadyExists {
        resource: "enrollment",
        field: "learner_id and course_id",
    }
}

async fn insert(
    ctx: &Context,
    id: &str,
    row: &EnrollRow,
    course: &CourseInfo,
) -> Result<String, WriteError> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let txn = uow.txn();
    if let Some(existing) = uow.replayed(row.key.as_ref()).await? {
        return Ok(existing);
    }
    let key = enrollments::active_key(&row.learner_id, &row.course_id);
    if !enrollments::taken_active_keys(txn, vec![key])
        .await?
        .is_empty()
    {
        return Err(already_enrolled().into());
    }
    let now = Utc::now();
    let new = new_enrollment(id, row, course);
    crate::store::insert_one(txn, enrollments::new_row(&new, now)).await?;
    uow.remember(ENROLL, row.key.as_ref(), id).await?;
    let mut events = vec![(row.enroll_time, created_event(id, row, course))];
    if let Some(program_id) = &row.program_id {
        events.extend(
            super::invitations::join_on_enroll(txn, &row.learner_id, program_id, row.enroll_time)
                .await?,
        );
    }
    uow.emit_many(events).await?;
    uow.commit().await?;
    Ok(id.to_owned())
}

pub fn new_enrollment<'a>(
    id: &'a str,
    row: &'a EnrollRow,
    course: &'a CourseInfo,
) -> NewEnrollment<'a> {
    NewEnrollment {
        id,
        learner_id: &row.learner_id,
        course_id: &row.course_id,
        program_id: row.program_id.as_deref(),
        module_ids: &course.module_ids,
        skill_ids: &course.skill_ids,
        enroll_time: row.enroll_time,
    }
}

pub fn created_event(id: &str, row: &EnrollRow, course: &CourseInfo) -> Payload {
    Payload::EnrollmentCreated(EnrollmentCreated {
        enrollment_id: id.to_owned(),
        learner_id: row.learner_id.clone(),
        course_id: row.course_id.clone(),
        program_id: row.program_id.clone().unwrap_or_default(),
        module_count: course.module_ids.len() as i32,
    })
}

pub async fn get(
    ctx: &Context,
    req: pb::GetEnrollmentRequest,
) -> Result<pb::Enrollment, DomainError> {
    let id = id::parse_id("id", &req.id)?;
    load(ctx, &id).await
}

pub async fn load(ctx: &Context, id: &str) -> Result<pb::Enrollment, DomainError> {
    let row = enrollments::get(&ctx.db, id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("enrollment", id))?;
    convert::enrollment_to_proto(row)
}

pub async fn list(
    ctx: &Context,
    req: pb::ListEnrollmentsRequest,
) -> Result<pb::ListEnrollmentsResponse, DomainError> {
    let mut v = Violations::new();
    let learner_id = v
        .check(id::parse_optional_id("learner_id", &req.learner_id))
        .flatten();
    let course_id = v
        .check(id::parse_optional_id("course_id", &req.course_id))
        .flatten();
    let state = v
        .check(convert::enrollment_state_filter(req.state))
        .flatten();
    v.finish()?;
    let filter = EnrollmentFilter {
        learner_id,
        course_id,
        state,
    };
    let page = PageRequest::parse(req.page_size, &req.page_token, &filter.describe())?;
    let rows = enrollments::list(&ctx.db, &filter, &page)
        .await
        .map_err(db_error)?;
    let (rows, next_page_token) = page.finish(rows, |e| e.id.clone());
    Ok(pb::ListEnrollmentsResponse {
        enrollments: rows
            .into_iter()
            .map(convert::enrollment_to_proto)
            .collect::<Result<_, _>>()?,
        next_page_token,
    })
}

pub async fn withdraw(
    ctx: &Context,
    req: pb::WithdrawEnrollmentRequest,
) -> Result<pb::Enrollment, DomainError> {
    let id = id::parse_id("id", &req.id)?;
    let result: Result<(), WriteError> = async {
        let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
        let txn = uow.txn();
        let row = enrollments::get_for_update(txn, &id)
            .await?
            .ok_or_else(|| DomainError::not_found("enrollment", &id))?;
        EnrollmentState::from_stored(&row.state)?.ensure_open("withdraw")?;
        let now = Utc::now();
        enrollments::withdraw(txn, &id, now).await?;
        let (enrollment_id, learner_id, course_id, program_id) = convert::enrollment_keys(&row);
        let event = Payload::EnrollmentWithdrawn(EnrollmentWithdrawn {
            enrollment_id,
            learner_id,
            course_id,
            program_id,
        });
        uow.emit(now, event).await?;
        uow.commit().await?;
        Ok(())
    }
    .await;
    result?;
    load(ctx, &id).await
}

/// A violation of one field, as a DomainError (for per-row bulk results).
pub fn field_error(field: &str, description: &str) -> DomainError {
    FieldViolation::new(field, description).into()
}
