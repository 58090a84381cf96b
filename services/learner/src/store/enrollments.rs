//! The SQL about enrollments: the reads and writes their handlers make.

use academy_domain::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::domain::{EnrollmentState, join_ids};
use crate::entity::{enrollment, progress_record};

/// The key that makes "one active enrollment per learner × course" a
/// unique constraint.
pub fn active_key(learner_id: &str, course_id: &str) -> String {
    format!("{learner_id}:{course_id}")
}

/// A new ENROLLED row.
#[derive(Debug)]
pub struct NewEnrollment<'a> {
    pub id: &'a str,
    pub learner_id: &'a str,
    pub course_id: &'a str,
    pub program_id: Option<&'a str>,
    pub module_ids: &'a [String],
    pub skill_ids: &'a [String],
    pub enroll_time: DateTime<Utc>,
}

pub fn new_row(e: &NewEnrollment<'_>, now: DateTime<Utc>) -> enrollment::ActiveModel {
    enrollment::ActiveModel {
        id: Set(e.id.to_owned()),
        learner_id: Set(e.learner_id.to_owned()),
        course_id: Set(e.course_id.to_owned()),
        program_id: Set(e.program_id.map(str::to_owned)),
        state: Set(EnrollmentState::Enrolled.as_str().to_owned()),
        active_key: Set(Some(active_key(e.learner_id, e.course_id))),
        module_ids: Set(join_ids(e.module_ids)),
        skill_ids: Set(join_ids(e.skill_ids)),
        completed_module_ids: Set(String::new()),
        minutes_spent: Set(0),
        enroll_time: Set(e.enroll_time),
        complete_time: Set(None),
        withdraw_time: Set(None),
        percent_complete: Set(0),
        grade_centi: Set(None),
        last_activity_time: Set(None),
        create_time: Set(now),
        update_time: Set(now),
    }
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<enrollment::Model>, DbErr> {
    enrollment::Entity::find_by_id(id.to_owned()).one(db).await
}

/// Reads an enrollment to change it. On PostgreSQL the row stays locked
/// until the transaction ends, so concurrent progress on one enrollment is
/// applied one after the other; SQLite write transactions are already
/// serialised (BEGIN IMMEDIATE).
pub async fn get_for_update<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<enrollment::Model>, DbErr> {
    let query = enrollment::Entity::find_by_id(id.to_owned());
    if db.get_database_backend() == DbBackend::Postgres {
        query.lock_exclusive().one(db).await
    } else {
        query.one(db).await
    }
}

/// Id of the learner's enrollment in the course that is not withdrawn.
pub async fn active_id<C: ConnectionTrait>(
    db: &C,
    learner_id: &str,
    course_id: &str,
) -> Result<Option<String>, DbErr> {
    super::column_where::<enrollment::Entity>(
        enrollment::Column::Id,
        enrollment::Column::ActiveKey.eq(active_key(learner_id, course_id)),
    )
    .one(db)
    .await
}

/// The course of each of the enrollments `ids` that exists.
pub async fn course_ids_of<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<(String, String)>, DbErr> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String)> = enrollment::Entity::find()
            .select_only()
            .column(enrollment::Column::Id)
            .column(enrollment::Column::CourseId)
            .filter(enrollment::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Which of `keys` belong to an active enrollment.
pub async fn taken_active_keys<C: ConnectionTrait>(
    db: &C,
    keys: Vec<String>,
) -> Result<Vec<String>, DbErr> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Option<String>> = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::ActiveKey)
        .filter(enrollment::Column::ActiveKey.is_in(keys))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

#[derive(Debug, Clone, Default)]
pub struct EnrollmentFilter {
    pub learner_id: Option<String>,
    pub course_id: Option<String>,
    pub state: Option<EnrollmentState>,
}

impl EnrollmentFilter {
    pub fn describe(&self) -> String {
        format!(
            "learner={:?};course={:?};state={:?}",
            self.learner_id,
            self.course_id,
            self.state.map(EnrollmentState::as_str)
        )
    }
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &EnrollmentFilter,
    page: &PageRequest,
) -> Result<Vec<enrollment::Model>, DbErr> {
    let mut query = enrollment::Entity::find()
        .order_by_asc(enrollment::Column::Id)
        .limit(page.fetch_limit());
    if let Some(learner_id) = &filter.learner_id {
        query = query.filter(enrollment::Column::LearnerId.eq(learner_id.as_str()));
    }
    if let Some(course_id) = &filter.course_id {
        query = query.filter(enrollment::Column::CourseId.eq(course_id.as_str()));
    }
    if let Some(state) = filter.state {
        query = query.filter(enrollment::Column::State.eq(state.as_str()));
    }
    if let Some(after) = &page.after {
        query = query.filter(enrollment::Column::Id.gt(after.as_str()));
    }
    query.all(db).await
}

/// The enrollment after one RecordProgress, written whole (computed from
/// the row read for update).
#[derive(Debug)]
pub struct ProgressUpdate<'a> {
    pub state: EnrollmentState,
    pub completed_module_ids: &'a [String],
    pub add_minutes: i64,
    /// The business completion time (unchanged, set, or moved earlier).
    pub complete_time: Option<DateTime<Utc>>,
    pub percent_complete: i32,
    pub grade_centi: Option<i32>,
    pub last_activity_time: Option<DateTime<Utc>>,
}

pub async fn apply_progress<C: ConnectionTrait>(
    db: &C,
    id: &str,
    u: &ProgressUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    enrollment::Entity::update_many()
        .col_expr(enrollment::Column::State, Expr::value(u.state.as_str()))
        .col_expr(
            enrollment::Column::CompletedModuleIds,
            Expr::value(join_ids(u.completed_module_ids)),
        )
        .col_expr(
            enrollment::Column::MinutesSpent,
            Expr::col(enrollment::Column::MinutesSpent).add(u.add_minutes),
        )
        .col_expr(
            enrollment::Column::CompleteTime,
            Expr::value(u.complete_time),
        )
        .col_expr(
            enrollment::Column::PercentComplete,
            Expr::value(u.percent_complete),
        )
        .col_expr(enrollment::Column::GradeCenti, Expr::value(u.grade_centi))
        .col_expr(
            enrollment::Column::LastActivityTime,
            Expr::value(u.last_activity_time),
        )
        .col_expr(enrollment::Column::UpdateTime, Expr::value(now))
        .filter(enrollment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Each module's earliest recorded completion in the enrollment: the
/// business time the module was first done, whatever order rows came in.
pub async fn earliest_per_module<C: ConnectionTrait>(
    db: &C,
    enrollment_id: &str,
) -> Result<Vec<(String, DateTime<Utc>)>, DbErr> {
    progress_record::Entity::find()
        .select_only()
        .column(progress_record::Column::ModuleId)
        .column_as(progress_record::Column::OccurredAt.min(), "earliest")
        .filter(progress_record::Column::EnrollmentId.eq(enrollment_id))
        .group_by(progress_record::Column::ModuleId)
        .into_tuple()
        .all(db)
        .await
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    record: progress_record::Model,
) -> Result<(), DbErr> {
    progress_record::Entity::insert(progress_record::ActiveModel {
        id: Set(record.id),
        enrollment_id: Set(record.enrollment_id),
        module_id: Set(record.module_id),
        minutes_spent: Set(record.minutes_spent),
        occurred_at: Set(record.occurred_at),
        create_time: Set(record.create_time),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn withdraw<C: ConnectionTrait>(
    db: &C,
    id: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    enrollment::Entity::update_many()
        .col_expr(
            enrollment::Column::State,
            Expr::value(EnrollmentState::Withdrawn.as_str()),
        )
        .col_expr(
            enrollment::Column::ActiveKey,
            Expr::value(Option::<String>::None),
        )
        .col_expr(enrollment::Column::WithdrawTime, Expr::value(Some(at)))
        .col_expr(enrollment::Column::UpdateTime, Expr::value(at))
        .filter(enrollment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ids of every enrollment of `learner_id` (erasure forgets their request ids).
pub async fn ids_of_learner<C: ConnectionTrait>(
    db: &C,
    learner_id: &str,
) -> Result<Vec<String>, DbErr> {
    super::column_where::<enrollment::Entity>(
        enrollment::Column::Id,
        enrollment::Column::LearnerId.eq(learner_id),
    )
    .all(db)
    .await
}

/// Whether the learner has an enrollment (any state) in the program.
pub async fn in_program<C: ConnectionTrait>(
    db: &C,
    learner_id: &str,
    program_id: &str,
) -> Result<bool, DbErr> {
    Ok(enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::Id)
        .filter(enrollment::Column::LearnerId.eq(learner_id))
        .filter(enrollment::Column::ProgramId.eq(program_id))
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}
