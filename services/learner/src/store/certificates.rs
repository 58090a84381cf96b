//! The SQL about certificates: the reads and writes their handlers make.

use academy_domain::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entity::{certificate, earned_skill};

pub async fn issue<C: ConnectionTrait>(db: &C, cert: certificate::Model) -> Result<(), DbErr> {
    certificate::Entity::insert(certificate::ActiveModel {
        id: Set(cert.id),
        code: Set(cert.code),
        enrollment_id: Set(cert.enrollment_id),
        learner_id: Set(cert.learner_id),
        course_id: Set(cert.course_id),
        issue_time: Set(cert.issue_time),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn earn_skills<C: ConnectionTrait>(
    db: &C,
    enrollment_id: &str,
    learner_id: &str,
    skill_ids: &[String],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if skill_ids.is_empty() {
        return Ok(());
    }
    let rows = skill_ids.iter().map(|skill_id| earned_skill::ActiveModel {
        enrollment_id: Set(enrollment_id.to_owned()),
        skill_id: Set(skill_id.clone()),
        learner_id: Set(learner_id.to_owned()),
        earn_time: Set(at),
    });
    earned_skill::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::Code.eq(code))
        .one(db)
        .await
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    learner_id: Option<&str>,
    page: &PageRequest,
) -> Result<Vec<certificate::Model>, DbErr> {
    let mut query = certificate::Entity::find()
        .order_by_asc(certificate::Column::Id)
        .limit(page.fetch_limit());
    if let Some(learner_id) = learner_id {
        query = query.filter(certificate::Column::LearnerId.eq(learner_id));
    }
    if let Some(after) = &page.after {
        query = query.filter(certificate::Column::Id.gt(after.as_str()));
    }
    query.all(db).await
}

/// Moves an enrollment's certificate and earned skills to its (earlier)
/// business completion time.
pub async fn redate<C: ConnectionTrait>(
    db: &C,
    enrollment_id: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    certificate::Entity::update_many()
        .col_expr(certificate::Column::IssueTime, Expr::value(at))
        .filter(certificate::Column::EnrollmentId.eq(enrollment_id))
        .exec(db)
        .await?;
    earned_skill::Entity::update_many()
        .col_expr(earned_skill::Column::EarnTime, Expr::value(at))
        .filter(earned_skill::Column::EnrollmentId.eq(enrollment_id))
        .exec(db)
        .await?;
    Ok(())
}
