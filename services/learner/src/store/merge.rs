//! SQL of FindDuplicateLearners and MergeLearners (issue #19).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use crate::domain::{LearnerState, join_ids, split_ids};
use crate::entity::{
    certificate, earned_skill, enrollment, learner, learner_merge, progress_record,
};

/// What duplicate detection reads of a learner.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct Candidate {
    pub id: String,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub full_name: String,
    pub birth_year: i32,
}

/// Every ACTIVE learner's matching fields, in one query.
pub async fn active_candidates<C: ConnectionTrait>(db: &C) -> Result<Vec<Candidate>, DbErr> {
    learner::Entity::find()
        .select_only()
        .column(learner::Column::Id)
        .column(learner::Column::Email)
        .column(learner::Column::ExternalId)
        .column(learner::Column::FullName)
        .column(learner::Column::BirthYear)
        .filter(learner::Column::State.eq(LearnerState::Active.as_str()))
        .into_model::<Candidate>()
        .all(db)
        .await
}

/// The survivor a MERGED learner went into.
pub async fn survivor_of<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<String>, DbErr> {
    Ok(learner_merge::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .map(|m| m.survivor_id))
}

/// The learners merged into `survivor_id`.
pub async fn absorbed_by<C: ConnectionTrait>(
    db: &C,
    survivor_id: &str,
) -> Result<Vec<String>, DbErr> {
    super::column_where::<learner_merge::Entity>(
        learner_merge::Column::DuplicateId,
        learner_merge::Column::SurvivorId.eq(survivor_id),
    )
    .all(db)
    .await
}

pub async fn enrollments_of<C: ConnectionTrait>(
    db: &C,
    learner_id: &str,
) -> Result<Vec<enrollment::Model>, DbErr> {
    enrollment::Entity::find()
        .filter(enrollment::Column::LearnerId.eq(learner_id))
        .all(db)
        .await
}

pub async fn certificate_of<C: ConnectionTrait>(
    db: &C,
    enrollment_id: &str,
) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::EnrollmentId.eq(enrollment_id))
        .one(db)
        .await
}

/// How many certificates and earned skills the enrollments have.
pub async fn count_certificates_and_skills<C: ConnectionTrait>(
    db: &C,
    enrollment_ids: &[String],
) -> Result<(u64, u64), DbErr> {
    use sea_orm::PaginatorTrait;
    if enrollment_ids.is_empty() {
        return Ok((0, 0));
    }
    let certificates = certificate::Entity::find()
        .filter(certificate::Column::EnrollmentId.is_in(enrollment_ids.to_vec()))
        .count(db)
        .await?;
    let earned_skills = earned_skill::Entity::find()
        .filter(earned_skill::Column::EnrollmentId.is_in(enrollment_ids.to_vec()))
        .count(db)
        .await?;
    Ok((certificates, earned_skills))
}

/// Hands an enrollment, with its certificate and earned skills, to
/// `survivor_id` (the active key names the new owner).
pub async fn move_enrollment<C: ConnectionTrait>(
    db: &C,
    e: &enrollment::Model,
    survivor_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let active_key = e
        .active_key
        .as_ref()
        .map(|_| format!("{survivor_id}:{}", e.course_id));
    enrollment::Entity::update_many()
        .col_expr(enrollment::Column::LearnerId, Expr::value(survivor_id))
        .col_expr(enrollment::Column::ActiveKey, Expr::value(active_key))
        .col_expr(enrollment::Column::UpdateTime, Expr::value(now))
        .filter(enrollment::Column::Id.eq(e.id.as_str()))
        .exec(db)
        .await?;
    certificate::Entity::update_many()
        .col_expr(certificate::Column::LearnerId, Expr::value(survivor_id))
        .filter(certificate::Column::EnrollmentId.eq(e.id.as_str()))
        .exec(db)
        .await?;
    earned_skill::Entity::update_many()
        .col_expr(earned_skill::Column::LearnerId, Expr::value(survivor_id))
        .filter(earned_skill::Column::EnrollmentId.eq(e.id.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Writes the folded enrollment `kept` (already computed) and removes
/// `folded`: its progress history goes to `kept`, its certificate and
/// earned skills are dropped (the kept one completed first, if either did).
pub async fn fold_enrollment<C: ConnectionTrait>(
    db: &C,
    kept: &enrollment::Model,
    folded_id: &str,
) -> Result<(), DbErr> {
    progress_record::Entity::update_many()
        .col_expr(
            progress_record::Column::EnrollmentId,
            Expr::value(kept.id.as_str()),
        )
        .filter(progress_record::Column::EnrollmentId.eq(folded_id))
        .exec(db)
        .await?;
    certificate::Entity::delete_many()
        .filter(certificate::Column::EnrollmentId.eq(folded_id))
        .exec(db)
        .await?;
    earned_skill::Entity::delete_many()
        .filter(earned_skill::Column::EnrollmentId.eq(folded_id))
        .exec(db)
        .await?;
    // The folded row first: it holds the active key the kept row takes.
    enrollment::Entity::delete_by_id(folded_id.to_owned())
        .exec(db)
        .await?;
    enrollment::Entity::update_many()
        .col_expr(
            enrollment::Column::LearnerId,
            Expr::value(kept.learner_id.as_str()),
        )
        .col_expr(
            enrollment::Column::ActiveKey,
            Expr::value(kept.active_key.clone()),
        )
        .col_expr(enrollment::Column::State, Expr::value(kept.state.as_str()))
        .col_expr(
            enrollment::Column::CompletedModuleIds,
            Expr::value(kept.completed_module_ids.as_str()),
        )
        .col_expr(
            enrollment::Column::MinutesSpent,
            Expr::value(kept.minutes_spent),
        )
        .col_expr(
            enrollment::Column::CompleteTime,
            Expr::value(kept.complete_time),
        )
        .col_expr(
            enrollment::Column::PercentComplete,
            Expr::value(kept.percent_complete),
        )
        .col_expr(
            enrollment::Column::GradeCenti,
            Expr::value(kept.grade_centi),
        )
        .col_expr(
            enrollment::Column::LastActivityTime,
            Expr::value(kept.last_activity_time),
        )
        .col_expr(
            enrollment::Column::UpdateTime,
            Expr::value(kept.update_time),
        )
        .filter(enrollment::Column::Id.eq(kept.id.as_str()))
        .exec(db)
        .await?;
    certificate::Entity::update_many()
        .col_expr(
            certificate::Column::LearnerId,
            Expr::value(kept.learner_id.as_str()),
        )
        .filter(certificate::Column::EnrollmentId.eq(kept.id.as_str()))
        .exec(db)
        .await?;
    earned_skill::Entity::update_many()
        .col_expr(
            earned_skill::Column::LearnerId,
            Expr::value(kept.learner_id.as_str()),
        )
        .filter(earned_skill::Column::EnrollmentId.eq(kept.id.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Turns `duplicate_id` into a tombstone naming `survivor_id`, and gives
/// the survivor the earlier registration time.
pub async fn tombstone<C: ConnectionTrait>(
    db: &C,
    duplicate: &learner::Model,
    survivor: &learner::Model,
    answer: &Moved,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    learner::Entity::update_many()
        .col_expr(
            learner::Column::State,
            Expr::value(LearnerState::Merged.as_str()),
        )
        .col_expr(
            learner::Column::Revision,
            Expr::col(learner::Column::Revision).add(1),
        )
        .col_expr(learner::Column::UpdateTime, Expr::value(now))
        .filter(learner::Column::Id.eq(duplicate.id.as_str()))
        .exec(db)
        .await?;
    learner::Entity::update_many()
        .col_expr(
            learner::Column::RegisterTime,
            Expr::value(Ord::min(survivor.register_time, duplicate.register_time)),
        )
        .col_expr(
            learner::Column::Revision,
            Expr::col(learner::Column::Revision).add(1),
        )
        .col_expr(learner::Column::UpdateTime, Expr::value(now))
        .filter(learner::Column::Id.eq(survivor.id.as_str()))
        .exec(db)
        .await?;
    learner_merge::Entity::insert(learner_merge::ActiveModel {
        duplicate_id: Set(duplicate.id.clone()),
        survivor_id: Set(survivor.id.clone()),
        merge_time: Set(now),
        moved_enrollment_ids: Set(join_ids(&answer.moved_enrollment_ids)),
        folded_enrollment_ids: Set(join_ids(&answer.folded_enrollment_ids)),
        moved_certificates: Set(answer.moved_certificates),
        moved_earned_skills: Set(answer.moved_earned_skills),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// What a merge moved: the MergeLearners answer without the survivor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    pub moved_enrollment_ids: Vec<String>,
    pub folded_enrollment_ids: Vec<String>,
    pub moved_certificates: i32,
    pub moved_earned_skills: i32,
}

/// The tombstone of `duplicate_id`, if it was merged: survivor and what moved.
pub async fn tombstone_of<C: ConnectionTrait>(
    db: &C,
    duplicate_id: &str,
) -> Result<Option<(String, Moved)>, DbErr> {
    Ok(learner_merge::Entity::find_by_id(duplicate_id.to_owned())
        .one(db)
        .await?
        .map(|m| {
            (
                m.survivor_id,
                Moved {
                    moved_enrollment_ids: split_ids(&m.moved_enrollment_ids),
                    folded_enrollment_ids: split_ids(&m.folded_enrollment_ids),
                    moved_certificates: m.moved_certificates,
                    moved_earned_skills: m.moved_earned_skills,
                },
            )
        }))
}

/// Locks a learner row for the rest of the transaction (PostgreSQL; SQLite
/// writers are serialised by the IMMEDIATE transaction already).
pub async fn lock<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<learner::Model>, DbErr> {
    learner::Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(db)
        .await
}
