use academy_domain::{DomainError, PageRequest, text};
use academy_proto::course as pb;
use academy_proto::events::{SkillCreated, event::Payload};
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::{Key, WriteError};
use academy_runtime::write::UnitOfWork;
use chrono::Utc;

use super::Context;
use crate::convert;
use crate::domain::NewSkill;
use crate::store::skills;

const CREATE: &str = "CreateSkill";

pub async fn create(ctx: &Context, req: pb::CreateSkillRequest) -> Result<pb::Skill, DomainError> {
    let key = super::request_key(CREATE, &req.request_id, &req);
    let new = convert::new_skill(req.skill)?;
    let key = key?;
    let key = key.as_ref();
    let id = super::create_once(
        ctx,
        key,
        |id| async move { insert(ctx, &id, &new, key).await },
        || DomainError::AlreadyExists {
            resource: "skill",
            field: "name",
        },
    )
    .await?;
    get(ctx, &id).await
}

/// Returns the id of the resource: the new one, or the one an earlier call
/// with the same request id made (checked again under the write lock).
async fn insert(
    ctx: &Context,
    id: &str,
    new: &NewSkill,
    key: Option<&Key>,
) -> Result<String, WriteError> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let txn = uow.txn();
    if let Some(existing) = uow.replayed(key).await? {
        return Ok(existing);
    }
    if skills::find_by_name(txn, &new.name).await?.is_some() {
        return Err(DomainError::AlreadyExists {
            resource: "skill",
            field: "name",
        }
        .into());
    }
    let now = Utc::now();
    skills::insert(txn, id, new, now).await?;
    uow.remember(CREATE, key, id).await?;
    let event = Payload::SkillCreated(SkillCreated {
        skill_id: id.to_owned(),
        name: new.name.clone(),
        category: new.category.clone(),
    });
    uow.emit(now, event).await?;
    uow.commit().await?;
    Ok(id.to_owned())
}

async fn get(ctx: &Context, id: &str) -> Result<pb::Skill, DomainError> {
    skills::get(&ctx.db, id)
        .await
        .map_err(db_error)?
        .map(convert::skill_to_proto)
        .ok_or_else(|| DomainError::not_found("skill", id))
}

pub async fn list(
    ctx: &Context,
    req: pb::ListSkillsRequest,
) -> Result<pb::ListSkillsResponse, DomainError> {
    let category = text::optional("category", &req.category, 100)?;
    let category = (!category.is_empty()).then_some(category);
    let page = PageRequest::parse(
        req.page_size,
        &req.page_token,
        &format!("category={category:?}"),
    )?;
    let rows = skills::list(&ctx.db, category.as_deref(), &page)
        .await
        .map_err(db_error)?;
    let (rows, next_page_token) = page.finish(rows, |s| s.id.clone());
    Ok(pb::ListSkillsResponse {
        skills: rows.into_iter().map(convert::skill_to_proto).collect(),
        next_page_token,
    })
}
