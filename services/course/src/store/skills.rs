//! The SQL about skills: the reads and writes their handlers make.

use academy_domain::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::domain::NewSkill;
use crate::entity::skill;

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: &str,
    new: &NewSkill,
    now: DateTime<Utc>,
) -> Result<skill::Model, DbErr> {
    let model = skill::Model {
        id: id.to_owned(),
        name: new.name.clone(),
        category: new.category.clone(),
        create_time: now,
    };
    skill::Entity::insert(skill::ActiveModel {
        id: Set(model.id.clone()),
        name: Set(model.name.clone()),
        category: Set(model.category.clone()),
        create_time: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(model)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<skill::Model>, DbErr> {
    skill::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<skill::Model>, DbErr> {
    skill::Entity::find()
        .filter(skill::Column::Name.eq(name))
        .one(db)
        .await
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    category: Option<&str>,
    page: &PageRequest,
) -> Result<Vec<skill::Model>, DbErr> {
    let mut query = skill::Entity::find()
        .order_by_asc(skill::Column::Id)
        .limit(page.fetch_limit());
    if let Some(category) = category {
        query = query.filter(skill::Column::Category.eq(category));
    }
    if let Some(after) = &page.after {
        query = query.filter(skill::Column::Id.gt(after.as_str()));
    }
    query.all(db).await
}

/// The ids among `ids` that name no skill.
pub async fn missing<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<String>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<String> = skill::Entity::find()
        .select_only()
        .column(skill::Column::Id)
        .filter(skill::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids
        .iter()
        .filter(|id| !found.contains(id))
        .cloned()
        .collect())
}
