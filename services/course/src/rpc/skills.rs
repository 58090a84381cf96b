//! Handlers of the RPCs about skills: each validates its request, calls the
//! store and builds the answer (the tonic wiring is in `api.rs`).

use academy_domain::{DomainError, PageRequest, text};
use academy_proto::course as pb;
use academy_proto::events::{SkillCreated, event::Payload};
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::WriteError;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::Context;
use crate::convert;
use crate::domain::NewSkill;
use crate::store::skills;

const CREATE: &str = "CreateSkill";

pub async fn create(ctx: &Context, req: pb::CreateSkillRequest) -> Result<pb::Skill, DomainError> {
    let key = super::request_key(CREATE, &req.request_id, &req);
    let new = convert::new_skill(req.skill);
    let id = super::create_once(ctx, CREATE, key, new, name_taken, insert).await?;
    get(ctx, &id).await
}

fn name_taken() -> DomainError {
    DomainError::AlreadyExists {
        resource: "skill",
        field: "name",
    }
}

/// The new skill's row and event.
async fn insert(
    txn: &DatabaseTransaction,
    id: &str,
    new: &NewSkill,
    now: DateTime<Utc>,
) -> Result<Payload, WriteError> {
    if skills::find_by_name(txn, &new.name).await?.is_some() {
        return Err(name_taken().into());
    }
    skills::insert(txn, id, new, now).await?;
    Ok(Payload::SkillCreated(SkillCreated {
        skill_id: id.to_owned(),
        name: new.name.clone(),
        category: new.category.clone(),
    }))
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
