//! The SQL about learners: the reads and writes their handlers make.

use academy_domain::PageRequest;
use academy_runtime::auth::DataScope;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use crate::domain::{LearnerState, NewLearner, Profile};
use crate::entity::{enrollment, learner};

pub fn new_row(id: &str, new: &NewLearner, now: DateTime<Utc>) -> learner::ActiveModel {
    let p = &new.profile;
    learner::ActiveModel {
        id: Set(id.to_owned()),
        email: Set(Some(p.email.as_str().to_owned())),
        external_id: Set(p.external_id.clone()),
        full_name: Set(p.full_name.clone()),
        region: Set(p.region.as_str().to_owned()),
        gender: Set(p.gender.as_str().to_owned()),
        birth_year: Set(p.birth_year),
        employment_status: Set(p.employment_status.as_str().to_owned()),
        organization: Set(p.organization.clone()),
        education_level: Set(p.education_level.map(|e| e.level())),
        state: Set(LearnerState::Active.as_str().to_owned()),
        revision: Set(1),
        register_time: Set(new.register_time),
        create_time: Set(now),
        update_time: Set(now),
    }
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<learner::Model>, DbErr> {
    learner::Entity::find_by_id(id.to_owned()).one(db).await
}

/// Id of the learner holding `email`, if any.
pub async fn id_by_email<C: ConnectionTrait>(db: &C, email: &str) -> Result<Option<String>, DbErr> {
    super::column_where::<learner::Entity>(learner::Column::Id, learner::Column::Email.eq(email))
        .one(db)
        .await
}

pub async fn id_by_external_id<C: ConnectionTrait>(
    db: &C,
    external_id: &str,
) -> Result<Option<String>, DbErr> {
    super::column_where::<learner::Entity>(
        learner::Column::Id,
        learner::Column::ExternalId.eq(external_id),
    )
    .one(db)
    .await
}

/// The learners among `ids`, for bulk checks.
pub async fn get_many<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<learner::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    learner::Entity::find()
        .filter(learner::Column::Id.is_in(ids))
        .all(db)
        .await
}

#[derive(Debug, Clone, Default)]
pub struct LearnerFilter {
    pub region: Option<String>,
    pub program_id: Option<String>,
    /// The caller's data scope: only learners in its slice.
    pub data: DataScope,
}

impl LearnerFilter {
    pub fn describe(&self) -> String {
        format!(
            "region={:?};program={:?};data={:?}",
            self.region, self.program_id, self.data
        )
    }
}

/// Narrows a learner query to a data scope's slice: the learner's region
/// and organisation among the scope's, and an enrollment in one of its
/// programs.
fn in_data_scope(
    mut query: sea_orm::Select<learner::Entity>,
    data: &DataScope,
) -> sea_orm::Select<learner::Entity> {
    if let Some(regions) = &data.regions {
        query = query.filter(learner::Column::Region.is_in(regions.iter().map(String::as_str)));
    }
    if let Some(organizations) = &data.organizations {
        query = query
            .filter(learner::Column::Organization.is_in(organizations.iter().map(String::as_str)));
    }
    if let Some(programs) = &data.programs {
        let in_programs = enrollment::Entity::find()
            .select_only()
            .column(enrollment::Column::LearnerId)
            .filter(enrollment::Column::ProgramId.is_in(programs.iter().map(String::as_str)))
            .into_query();
        query = query.filter(learner::Column::Id.in_subquery(in_programs));
    }
    query
}

/// Whether learner `id` is in the data scope's slice.
pub async fn visible<C: ConnectionTrait>(
    db: &C,
    id: &str,
    data: &DataScope,
) -> Result<bool, DbErr> {
    let query = learner::Entity::find()
        .select_only()
        .column(learner::Column::Id)
        .filter(learner::Column::Id.eq(id));
    Ok(in_data_scope(query, data)
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &LearnerFilter,
    page: &PageRequest,
) -> Result<Vec<learner::Model>, DbErr> {
    let mut query = learner::Entity::find()
        .order_by_asc(learner::Column::Id)
        .limit(page.fetch_limit());
    if let Some(region) = &filter.region {
        query = query.filter(learner::Column::Region.eq(region.as_str()));
    }
    if let Some(program_id) = &filter.program_id {
        let in_program = enrollment::Entity::find()
            .select_only()
            .column(enrollment::Column::LearnerId)
            .filter(enrollment::Column::ProgramId.eq(program_id.as_str()))
            .into_query();
        query = query.filter(learner::Column::Id.in_subquery(in_program));
    }
    if let Some(after) = &page.after {
        query = query.filter(learner::Column::Id.gt(after.as_str()));
    }
    in_data_scope(query, &filter.data).all(db).await
}

/// Writes a new profile if the row is still at `revision`.
pub async fn update_profile<C: ConnectionTrait>(
    db: &C,
    id: &str,
    revision: i64,
    p: &Profile,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = learner::Entity::update_many()
        .col_expr(
            learner::Column::Email,
            Expr::value(Some(p.email.as_str().to_owned())),
        )
        .col_expr(
            learner::Column::ExternalId,
            Expr::value(p.external_id.clone()),
        )
        .col_expr(learner::Column::FullName, Expr::value(p.full_name.clone()))
        .col_expr(learner::Column::Region, Expr::value(p.region.as_str()))
        .col_expr(learner::Column::Gender, Expr::value(p.gender.as_str()))
        .col_expr(learner::Column::BirthYear, Expr::value(p.birth_year))
        .col_expr(
            learner::Column::EmploymentStatus,
            Expr::value(p.employment_status.as_str()),
        )
        .col_expr(
            learner::Column::Organization,
            Expr::value(p.organization.clone()),
        )
        .col_expr(
            learner::Column::EducationLevel,
            Expr::value(p.education_level.map(|e| e.level())),
        )
        .col_expr(learner::Column::Revision, Expr::value(revision + 1))
        .col_expr(learner::Column::UpdateTime, Expr::value(now))
        .filter(learner::Column::Id.eq(id))
        .filter(learner::Column::Revision.eq(revision))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Removes personal data for good; region, gender, birth year and
/// employment status stay as anonymous facts for the reports.
pub async fn erase<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    learner::Entity::update_many()
        .col_expr(learner::Column::Email, Expr::value(Option::<String>::None))
        .col_expr(
            learner::Column::ExternalId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(learner::Column::FullName, Expr::value(""))
        .col_expr(learner::Column::Organization, Expr::value(""))
        .col_expr(
            learner::Column::State,
            Expr::value(LearnerState::Erased.as_str()),
        )
        .col_expr(
            learner::Column::Revision,
            Expr::col(learner::Column::Revision).add(1),
        )
        .col_expr(learner::Column::UpdateTime, Expr::value(now))
        .filter(learner::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Who holds a unique key: a learner's id, e-mail and external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub id: String,
    pub email: Option<String>,
    pub external_id: Option<String>,
}

/// The learners holding any of `emails` (column `email`) or any of
/// `external_ids` (column `external_id`), for an import's per-row answer.
/// Both columns have unique indexes, so each chunk is an index lookup.
pub async fn holders<C: ConnectionTrait>(
    db: &C,
    emails: Vec<String>,
    external_ids: Vec<String>,
) -> Result<Vec<KeyHolder>, DbErr> {
    let mut found = Vec::new();
    for (column, values) in [
        (learner::Column::Email, emails),
        (learner::Column::ExternalId, external_ids),
    ] {
        for chunk in values.chunks(500) {
            let rows: Vec<(String, Option<String>, Option<String>)> = learner::Entity::find()
                .select_only()
                .column(learner::Column::Id)
                .column(learner::Column::Email)
                .column(learner::Column::ExternalId)
                .filter(column.is_in(chunk.to_vec()))
                .into_tuple()
                .all(db)
                .await?;
            found.extend(rows.into_iter().map(|(id, email, external_id)| KeyHolder {
                id,
                email,
                external_id,
            }));
        }
    }
    Ok(found)
}
