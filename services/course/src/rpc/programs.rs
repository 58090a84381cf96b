//! Handlers of the RPCs about programs: each validates its request, calls the
//! store and builds the answer (the tonic wiring is in `api.rs`).

use academy_domain::{AllValid, DomainError, PageRequest, id};
use academy_proto::course as pb;
use academy_proto::events::{CourseAddedToProgram, ProgramCreated, event::Payload};
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::WriteError;
use academy_runtime::time::date;
use academy_runtime::write::UnitOfWork;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::Context;
use crate::convert;
use crate::domain::{CourseState, NewProgram};
use crate::store::{courses, programs};

const CREATE: &str = "CreateProgram";

pub async fn create(
    ctx: &Context,
    req: pb::CreateProgramRequest,
) -> Result<pb::Program, DomainError> {
    let key = super::request_key(CREATE, &req.request_id, &req);
    let new = convert::new_program(req.program);
    let id = super::create_once(ctx, CREATE, key, new, name_taken, insert).await?;
    load(ctx, &id).await
}

fn name_taken() -> DomainError {
    DomainError::AlreadyExists {
        resource: "program",
        field: "name",
    }
}

/// The new program's row and event.
async fn insert(
    txn: &DatabaseTransaction,
    id: &str,
    new: &NewProgram,
    now: DateTime<Utc>,
) -> Result<Payload, WriteError> {
    if programs::find_id_by_name(txn, &new.name).await?.is_some() {
        return Err(name_taken().into());
    }
    programs::insert(txn, id, new, now).await?;
    Ok(Payload::ProgramCreated(ProgramCreated {
        program_id: id.to_owned(),
        name: new.name.clone(),
        start_date: Some(date(new.start_date)),
    }))
}

pub async fn get(ctx: &Context, req: pb::GetProgramRequest) -> Result<pb::Program, DomainError> {
    let id = id::parse_id("id", &req.id)?;
    load(ctx, &id).await
}

async fn load(ctx: &Context, id: &str) -> Result<pb::Program, DomainError> {
    programs::load(&ctx.db, id)
        .await
        .map_err(db_error)?
        .map(|(program, course_ids)| convert::program_to_proto(program, course_ids))
        .ok_or_else(|| DomainError::not_found("program", id))
}

pub async fn list(
    ctx: &Context,
    req: pb::ListProgramsRequest,
) -> Result<pb::ListProgramsResponse, DomainError> {
    let page = PageRequest::parse(req.page_size, &req.page_token, "")?;
    let rows = programs::list(&ctx.db, &page).await.map_err(db_error)?;
    let (rows, next_page_token) = page.finish(rows, |(p, _)| p.id.clone());
    Ok(pb::ListProgramsResponse {
        programs: rows
            .into_iter()
            .map(|(program, course_ids)| convert::program_to_proto(program, course_ids))
            .collect(),
        next_page_token,
    })
}

/// Adding a course that is already in the program changes nothing.
pub async fn add_course(
    ctx: &Context,
    req: pb::AddCourseToProgramRequest,
) -> Result<pb::Program, DomainError> {
    let (program_id, course_id) = (
        id::parse_id("program_id", &req.program_id),
        id::parse_id("course_id", &req.course_id),
    )
        .all_valid()?;
    add(ctx, &program_id, &course_id)
        .await
        .map_err(DomainError::from)?;
    load(ctx, &program_id).await
}

async fn add(ctx: &Context, program_id: &str, course_id: &str) -> Result<(), WriteError> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let txn = uow.txn();
    if programs::load(txn, program_id).await?.is_none() {
        return Err(DomainError::not_found("program", program_id).into());
    }
    let course = courses::load(txn, course_id)
        .await?
        .ok_or_else(|| DomainError::not_found("course", course_id))?;
    if programs::contains(txn, program_id, course_id).await? {
        return Ok(());
    }
    if CourseState::from_stored(&course.course.state)? == CourseState::Archived {
        return Err(DomainError::precondition(
            "COURSE_ARCHIVED",
            "an archived course cannot join a program",
        )
        .into());
    }
    let now = Utc::now();
    programs::add_course(txn, program_id, course_id, now).await?;
    let event = Payload::CourseAddedToProgram(CourseAddedToProgram {
        program_id: program_id.to_owned(),
        course_id: course_id.to_owned(),
    });
    uow.emit(now, event).await?;
    uow.commit().await?;
    Ok(())
}
