//! The SQL about programs: the reads and writes their handlers make.

use academy_domain::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::HashMap;

use crate::domain::NewProgram;
use crate::entity::{program, program_course};

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: &str,
    new: &NewProgram,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    program::Entity::insert(program::ActiveModel {
        id: Set(id.to_owned()),
        name: Set(new.name.clone()),
        description: Set(new.description.clone()),
        start_date: Set(new.start_date),
        create_time: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn find_id_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<String>, DbErr> {
    program::Entity::find()
        .select_only()
        .column(program::Column::Id)
        .filter(program::Column::Name.eq(name))
        .into_tuple()
        .one(db)
        .await
}

/// A program and the ids of its courses, in the order they were added.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<(program::Model, Vec<String>)>, DbErr> {
    let Some(program) = program::Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let mut courses = course_ids(db, vec![program.id.clone()]).await?;
    let ids = courses.remove(&program.id).unwrap_or_default();
    Ok(Some((program, ids)))
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    page: &PageRequest,
) -> Result<Vec<(program::Model, Vec<String>)>, DbErr> {
    let mut query = program::Entity::find()
        .order_by_asc(program::Column::Id)
        .limit(page.fetch_limit());
    if let Some(after) = &page.after {
        query = query.filter(program::Column::Id.gt(after.as_str()));
    }
    let programs = query.all(db).await?;
    let mut courses = course_ids(db, programs.iter().map(|p| p.id.clone()).collect()).await?;
    Ok(programs
        .into_iter()
        .map(|p| {
            let ids = courses.remove(&p.id).unwrap_or_default();
            (p, ids)
        })
        .collect())
}

async fn course_ids<C: ConnectionTrait>(
    db: &C,
    program_ids: Vec<String>,
) -> Result<HashMap<String, Vec<String>>, DbErr> {
    let mut by_program: HashMap<String, Vec<String>> = HashMap::new();
    for link in program_course::Entity::find()
        .filter(program_course::Column::ProgramId.is_in(program_ids))
        .order_by_asc(program_course::Column::AddTime)
        .order_by_asc(program_course::Column::CourseId)
        .all(db)
        .await?
    {
        by_program
            .entry(link.program_id)
            .or_default()
            .push(link.course_id);
    }
    Ok(by_program)
}

pub async fn contains<C: ConnectionTrait>(
    db: &C,
    program_id: &str,
    course_id: &str,
) -> Result<bool, DbErr> {
    Ok(
        program_course::Entity::find_by_id((program_id.to_owned(), course_id.to_owned()))
            .one(db)
            .await?
            .is_some(),
    )
}

pub async fn add_course<C: ConnectionTrait>(
    db: &C,
    program_id: &str,
    course_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    program_course::Entity::insert(program_course::ActiveModel {
        program_id: Set(program_id.to_owned()),
        course_id: Set(course_id.to_owned()),
        add_time: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
