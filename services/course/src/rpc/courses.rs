//! Handlers of the RPCs about courses: each validates its request, calls the
//! store and builds the answer (the tonic wiring is in `api.rs`).

use academy_domain::{DomainError, FieldViolation, PageRequest, Violations, id, text};
use academy_proto::course as pb;
use academy_proto::events::{
    CourseArchived, CourseCreated, CoursePublished, CourseUpdated, event::Payload,
};
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::WriteError;
use academy_runtime::write::UnitOfWork;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::Context;
use crate::convert;
use crate::domain::{CourseDetails, CourseState, Level, NewCourse};
use crate::store::courses::{self, CourseChange, CourseFilter, CourseRecord};
use crate::store::skills;

const CREATE: &str = "CreateCourse";

/// Most bytes of courses in one ListCourses page.
const PAGE_BYTES: usize = 3 * 1024 * 1024;

pub async fn create(
    ctx: &Context,
    req: pb::CreateCourseRequest,
) -> Result<pb::Course, DomainError> {
    let key = super::request_key(CREATE, &req.request_id, &req);
    let new = convert::new_course(req.course);
    let id = super::create_once(ctx, CREATE, key, new, code_taken, insert).await?;
    load(ctx, &id).await
}

fn code_taken() -> DomainError {
    DomainError::AlreadyExists {
        resource: "course",
        field: "code",
    }
}

/// The new course's rows and event.
async fn insert(
    txn: &DatabaseTransaction,
    id: &str,
    new: &NewCourse,
    now: DateTime<Utc>,
) -> Result<Payload, WriteError> {
    if courses::find_id_by_code(txn, &new.code).await?.is_some() {
        return Err(code_taken().into());
    }
    if let Some(provider_id) = &new.provider_course_id
        && courses::find_id_by_provider_course_id(txn, provider_id)
            .await?
            .is_some()
    {
        return Err(DomainError::AlreadyExists {
            resource: "course",
            field: "provider_course_id",
        }
        .into());
    }
    ensure_skills_exist(txn, "course.skill_ids", &new.skill_ids).await?;
    courses::insert(txn, id, new, now).await?;
    let record = reload(txn, id).await?;
    Ok(Payload::CourseCreated(CourseCreated {
        course: Some(convert::course_snapshot(&record)),
    }))
}

async fn ensure_skills_exist(
    txn: &DatabaseTransaction,
    field: &str,
    ids: &[String],
) -> Result<(), WriteError> {
    let missing = skills::missing(txn, ids).await?;
    if missing.is_empty() {
        return Ok(());
    }
    let violations = missing
        .iter()
        .map(|id| {
            let index = ids.iter().position(|s| s == id).unwrap_or_default();
            FieldViolation::new(format!("{field}[{index}]"), "names no existing skill")
        })
        .collect::<Vec<_>>();
    Err(DomainError::from(violations).into())
}

async fn reload(txn: &DatabaseTransaction, id: &str) -> Result<CourseRecord, WriteError> {
    courses::load(txn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("course", id).into())
}

pub async fn get(ctx: &Context, req: pb::GetCourseRequest) -> Result<pb::Course, DomainError> {
    let id = id::parse_id("id", &req.id)?;
    load(ctx, &id).await
}

async fn load(ctx: &Context, id: &str) -> Result<pb::Course, DomainError> {
    let record = courses::load(&ctx.db, id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("course", id))?;
    convert::course_to_proto(record)
}

pub async fn list(
    ctx: &Context,
    req: pb::ListCoursesRequest,
) -> Result<pb::ListCoursesResponse, DomainError> {
    let mut v = Violations::new();
    let state = v.check(convert::state_filter(req.state)).flatten();
    let skill_id = v
        .check(id::parse_optional_id("skill_id", &req.skill_id))
        .flatten();
    let provider = v
        .check(text::optional("provider", &req.provider, 200))
        .filter(|p| !p.is_empty());
    v.finish()?;
    let filter = CourseFilter {
        state,
        skill_id,
        provider,
    };
    let page = PageRequest::parse(req.page_size, &req.page_token, &filter.describe())?;
    let rows = courses::list(&ctx.db, &filter, &page)
        .await
        .map_err(db_error)?;
    let courses = rows
        .into_iter()
        .map(convert::course_to_proto)
        .collect::<Result<Vec<_>, _>>()?;
    // A course can be ~200 KB (200 modules): a page ends by bytes too, far
    // enough below the 4 MiB message limit that it is always sent.
    let (courses, next_page_token) = page.finish_within(
        courses,
        |c| c.id.clone(),
        |c| prost::Message::encoded_len(c) + 8,
        PAGE_BYTES,
    );
    Ok(pb::ListCoursesResponse {
        courses,
        next_page_token,
    })
}

pub async fn update(
    ctx: &Context,
    req: pb::UpdateCourseRequest,
) -> Result<pb::Course, DomainError> {
    let id = id::parse_id(
        "course.id",
        req.course
            .as_ref()
            .map(|c| c.id.as_str())
            .unwrap_or_default(),
    )?;
    let patch = convert::course_patch(req.course, req.update_mask)?;
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox)
        .await
        .map_err(db_error)?;
    let txn = uow.txn();
    let record = reload(txn, &id).await?;
    check_etag(&req.etag, &record)?;
    let state = CourseState::from_stored(&record.course.state)?;
    state.ensure_can_edit()?;
    if patch.modules.is_some() {
        state.ensure_can_restructure("modules")?;
    }
    if let Some(skill_ids) = &patch.skill_ids {
        state.ensure_can_restructure("skill_ids")?;
        ensure_skills_exist(txn, "course.skill_ids", skill_ids).await?;
    }
    if let Some(Some(provider_id)) = &patch.provider_course_id {
        ensure_provider_id_free(txn, provider_id, &id).await?;
    }
    let mut details = details_of(&record)?;
    patch.apply(&mut details);
    if let Some(modules) = &patch.modules {
        courses::replace_modules(txn, &id, modules)
            .await
            .map_err(db_error)?;
    }
    if let Some(skill_ids) = &patch.skill_ids {
        courses::replace_skills(txn, &id, skill_ids)
            .await
            .map_err(db_error)?;
    }
    let change = CourseChange {
        details: Some(&details),
        state: None,
        provider_course_id: patch.provider_course_id.as_ref().map(Option::as_deref),
    };
    write(uow, &record, change, |course| {
        Payload::CourseUpdated(CourseUpdated {
            course: Some(course),
        })
    })
    .await
}

pub async fn publish(
    ctx: &Context,
    req: pb::PublishCourseRequest,
) -> Result<pb::Course, DomainError> {
    transition(ctx, &req.id, &req.etag, CourseState::Published).await
}

pub async fn archive(
    ctx: &Context,
    req: pb::ArchiveCourseRequest,
) -> Result<pb::Course, DomainError> {
    transition(ctx, &req.id, &req.etag, CourseState::Archived).await
}

async fn transition(
    ctx: &Context,
    id: &str,
    etag: &str,
    to: CourseState,
) -> Result<pb::Course, DomainError> {
    let id = id::parse_id("id", id)?;
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox)
        .await
        .map_err(db_error)?;
    let txn = uow.txn();
    let record = reload(txn, &id).await?;
    check_etag(etag, &record)?;
    let from = CourseState::from_stored(&record.course.state)?;
    match to {
        CourseState::Published => from.ensure_can_publish()?,
        CourseState::Archived => from.ensure_can_archive()?,
        CourseState::Draft => return Err(DomainError::internal("no transition back to draft")),
    }
    let change = CourseChange {
        details: None,
        state: Some(to),
        provider_course_id: None,
    };
    write(uow, &record, change, |course| match to {
        CourseState::Archived => Payload::CourseArchived(CourseArchived {
            course: Some(course),
        }),
        _ => Payload::CoursePublished(CoursePublished {
            course: Some(course),
        }),
    })
    .await
}

/// Applies `change` if the course is still at the revision read (else
/// ABORTED), appends the event, commits, and returns the new course.
async fn write<E>(
    uow: UnitOfWork<'_>,
    before: &CourseRecord,
    change: CourseChange<'_>,
    event: E,
) -> Result<pb::Course, DomainError>
where
    E: FnOnce(academy_proto::events::CourseSnapshot) -> Payload,
{
    let now = Utc::now();
    let id = before.course.id.as_str();
    let txn = uow.txn();
    if !courses::update(txn, id, before.course.revision, change, now)
        .await
        .map_err(db_error)?
    {
        return Err(DomainError::Aborted { resource: "course" });
    }
    let after = reload(txn, id).await?;
    uow.emit(now, event(convert::course_snapshot(&after)))
        .await
        .map_err(db_error)?;
    uow.commit().await.map_err(db_error)?;
    convert::course_to_proto(after)
}

/// An empty etag skips the check (AIP-154); any other must match.
fn check_etag(etag: &str, record: &CourseRecord) -> Result<(), DomainError> {
    if etag.is_empty() || etag == convert::etag(record.course.revision) {
        Ok(())
    } else {
        Err(DomainError::Aborted { resource: "course" })
    }
}

fn details_of(record: &CourseRecord) -> Result<CourseDetails, DomainError> {
    let c = &record.course;
    Ok(CourseDetails {
        title: c.title.clone(),
        description: c.description.clone(),
        provider: c.provider.clone(),
        language: c.language.clone(),
        level: Level::from_stored(&c.level)?,
        estimated_hours: c.estimated_hours,
    })
}

/// ALREADY_EXISTS when a course other than `except` has this provider id.
async fn ensure_provider_id_free(
    txn: &DatabaseTransaction,
    provider_course_id: &str,
    except: &str,
) -> Result<(), DomainError> {
    let holder = courses::find_id_by_provider_course_id(txn, provider_course_id)
        .await
        .map_err(db_error)?;
    if holder.is_some_and(|holder| holder != except) {
        return Err(DomainError::AlreadyExists {
            resource: "course",
            field: "provider_course_id",
        });
    }
    Ok(())
}

/// LookupCourse: the course with a code or a provider_course_id.
pub async fn lookup(
    ctx: &Context,
    req: pb::LookupCourseRequest,
) -> Result<pb::Course, DomainError> {
    use pb::lookup_course_request::Key as By;
    let found = match req.key {
        Some(By::Code(raw)) => {
            let code = crate::domain::course_code("code", &raw)?;
            courses::find_id_by_code(&ctx.db, &code)
                .await
                .map_err(db_error)?
                .ok_or_else(|| DomainError::not_found("course", &code))?
        }
        Some(By::ProviderCourseId(raw)) => {
            let provider_id = text::required("provider_course_id", &raw, 200)?;
            courses::find_id_by_provider_course_id(&ctx.db, &provider_id)
                .await
                .map_err(db_error)?
                .ok_or_else(|| DomainError::not_found("course", &provider_id))?
        }
        None => {
            return Err(DomainError::invalid(
                "key",
                "set exactly one of code or provider_course_id",
            ));
        }
    };
    load(ctx, &found).await
}
