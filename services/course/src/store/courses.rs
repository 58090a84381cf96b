//! The SQL about courses: the reads and writes their handlers make.

use academy_domain::{PageRequest, id::new_id};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use std::collections::HashMap;

use crate::domain::{CourseDetails, CourseState, NewCourse, NewModule};
use crate::entity::{course, course_module, course_skill};

/// A course with its modules (in order) and skill ids (in the order given).
#[derive(Debug, Clone)]
pub struct CourseRecord {
    pub course: course::Model,
    pub modules: Vec<course_module::Model>,
    pub skill_ids: Vec<String>,
}

/// Typed filters of ListCourses.
#[derive(Debug, Clone, Default)]
pub struct CourseFilter {
    pub state: Option<CourseState>,
    pub skill_id: Option<String>,
    pub provider: Option<String>,
}

impl CourseFilter {
    /// Describes the filters for page-token fingerprints.
    pub fn describe(&self) -> String {
        format!(
            "state={:?};skill={:?};provider={:?}",
            self.state.map(CourseState::as_str),
            self.skill_id,
            self.provider
        )
    }
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: &str,
    new: &NewCourse,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let d = &new.details;
    course::Entity::insert(course::ActiveModel {
        id: Set(id.to_owned()),
        code: Set(new.code.clone()),
        title: Set(d.title.clone()),
        description: Set(d.description.clone()),
        provider: Set(d.provider.clone()),
        language: Set(d.language.clone()),
        level: Set(d.level.as_str().to_owned()),
        estimated_hours: Set(d.estimated_hours),
        state: Set(CourseState::Draft.as_str().to_owned()),
        revision: Set(1),
        create_time: Set(now),
        update_time: Set(now),
        publish_time: Set(None),
        archive_time: Set(None),
        provider_course_id: Set(new.provider_course_id.clone()),
    })
    .exec_without_returning(db)
    .await?;
    insert_modules(db, id, &new.modules).await?;
    insert_skills(db, id, &new.skill_ids).await
}

pub async fn find_id_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<String>, DbErr> {
    course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::Code.eq(code))
        .into_tuple()
        .one(db)
        .await
}

pub async fn find_id_by_provider_course_id<C: ConnectionTrait>(
    db: &C,
    provider_course_id: &str,
) -> Result<Option<String>, DbErr> {
    course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::ProviderCourseId.eq(provider_course_id))
        .into_tuple()
        .one(db)
        .await
}

pub async fn load<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<CourseRecord>, DbErr> {
    let Some(course) = course::Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(None);
    };
    Ok(with_parts(db, vec![course]).await?.pop())
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &CourseFilter,
    page: &PageRequest,
) -> Result<Vec<CourseRecord>, DbErr> {
    let mut query = course::Entity::find()
        .order_by_asc(course::Column::Id)
        .limit(page.fetch_limit());
    if let Some(state) = filter.state {
        query = query.filter(course::Column::State.eq(state.as_str()));
    }
    if let Some(provider) = &filter.provider {
        query = query.filter(course::Column::Provider.eq(provider.as_str()));
    }
    if let Some(skill_id) = &filter.skill_id {
        let with_skill = course_skill::Entity::find()
            .select_only()
            .column(course_skill::Column::CourseId)
            .filter(course_skill::Column::SkillId.eq(skill_id.as_str()))
            .into_query();
        query = query.filter(course::Column::Id.in_subquery(with_skill));
    }
    if let Some(after) = &page.after {
        query = query.filter(course::Column::Id.gt(after.as_str()));
    }
    let courses = query.all(db).await?;
    with_parts(db, courses).await
}

/// Loads modules and skills for many courses with two queries, not 2×N.
async fn with_parts<C: ConnectionTrait>(
    db: &C,
    courses: Vec<course::Model>,
) -> Result<Vec<CourseRecord>, DbErr> {
    let ids: Vec<String> = courses.iter().map(|c| c.id.clone()).collect();
    let mut modules: HashMap<String, Vec<course_module::Model>> = HashMap::new();
    for module in course_module::Entity::find()
        .filter(course_module::Column::CourseId.is_in(ids.clone()))
        .order_by_asc(course_module::Column::Position)
        .all(db)
        .await?
    {
        modules
            .entry(module.course_id.clone())
            .or_default()
            .push(module);
    }
    let mut skills: HashMap<String, Vec<String>> = HashMap::new();
    for link in course_skill::Entity::find()
        .filter(course_skill::Column::CourseId.is_in(ids))
        .order_by_asc(course_skill::Column::Position)
        .all(db)
        .await?
    {
        skills
            .entry(link.course_id)
            .or_default()
            .push(link.skill_id);
    }
    Ok(courses
        .into_iter()
        .map(|course| CourseRecord {
            modules: modules.remove(&course.id).unwrap_or_default(),
            skill_ids: skills.remove(&course.id).unwrap_or_default(),
            course,
        })
        .collect())
}

/// Writes new descriptive fields and/or state if the row is still at
/// `revision`; returns false when someone else changed it first.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    id: &str,
    revision: i64,
    change: CourseChange<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = course::Entity::update_many()
        .col_expr(course::Column::Revision, Expr::value(revision + 1))
        .col_expr(course::Column::UpdateTime, Expr::value(now))
        .filter(course::Column::Id.eq(id))
        .filter(course::Column::Revision.eq(revision));
    if let Some(d) = change.details {
        update = update
            .col_expr(course::Column::Title, Expr::value(d.title.clone()))
            .col_expr(
                course::Column::Description,
                Expr::value(d.description.clone()),
            )
            .col_expr(course::Column::Provider, Expr::value(d.provider.clone()))
            .col_expr(course::Column::Language, Expr::value(d.language.clone()))
            .col_expr(course::Column::Level, Expr::value(d.level.as_str()))
            .col_expr(
                course::Column::EstimatedHours,
                Expr::value(d.estimated_hours),
            );
    }
    if let Some(provider_course_id) = change.provider_course_id {
        update = update.col_expr(
            course::Column::ProviderCourseId,
            Expr::value(provider_course_id.map(str::to_owned)),
        );
    }
    if let Some(state) = change.state {
        update = update.col_expr(course::Column::State, Expr::value(state.as_str()));
        if state == CourseState::Published {
            update = update.col_expr(course::Column::PublishTime, Expr::value(Some(now)));
        }
        if state == CourseState::Archived {
            update = update.col_expr(course::Column::ArchiveTime, Expr::value(Some(now)));
        }
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// What [`update`] writes besides the revision and update time.
#[derive(Debug, Default, Clone, Copy)]
pub struct CourseChange<'a> {
    pub details: Option<&'a CourseDetails>,
    pub state: Option<CourseState>,
    /// A new provider course id (`Some(None)` clears it).
    pub provider_course_id: Option<Option<&'a str>>,
}

pub async fn replace_modules<C: ConnectionTrait>(
    db: &C,
    course_id: &str,
    modules: &[NewModule],
) -> Result<(), DbErr> {
    course_module::Entity::delete_many()
        .filter(course_module::Column::CourseId.eq(course_id))
        .exec(db)
        .await?;
    insert_modules(db, course_id, modules).await
}

pub async fn replace_skills<C: ConnectionTrait>(
    db: &C,
    course_id: &str,
    skill_ids: &[String],
) -> Result<(), DbErr> {
    course_skill::Entity::delete_many()
        .filter(course_skill::Column::CourseId.eq(course_id))
        .exec(db)
        .await?;
    insert_skills(db, course_id, skill_ids).await
}

async fn insert_modules<C: ConnectionTrait>(
    db: &C,
    course_id: &str,
    modules: &[NewModule],
) -> Result<(), DbErr> {
    if modules.is_empty() {
        return Ok(());
    }
    let rows = modules
        .iter()
        .enumerate()
        .map(|(position, module)| course_module::ActiveModel {
            id: Set(new_id()),
            course_id: Set(course_id.to_owned()),
            position: Set(position as i32),
            title: Set(module.title.clone()),
            estimated_minutes: Set(module.estimated_minutes),
        });
    course_module::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

async fn insert_skills<C: ConnectionTrait>(
    db: &C,
    course_id: &str,
    skill_ids: &[String],
) -> Result<(), DbErr> {
    if skill_ids.is_empty() {
        return Ok(());
    }
    let rows = skill_ids
        .iter()
        .enumerate()
        .map(|(position, skill_id)| course_skill::ActiveModel {
            course_id: Set(course_id.to_owned()),
            skill_id: Set(skill_id.clone()),
            position: Set(position as i32),
        });
    course_skill::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
