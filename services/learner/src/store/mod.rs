//! SQL of the learner service, through sea-orm. Functions take any
//! connection or transaction and return `DbErr`.

pub mod certificates;
pub mod enrollments;
pub mod invitations;
pub mod learners;
pub mod merge;

use sea_orm::sea_query::{IntoCondition, OnConflict};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, PrimaryKeyTrait,
    QueryFilter, QuerySelect, SelectGetableTuple, Selector,
};

/// Inserts one row; a row a unique index refuses (a taken e-mail, an
/// active enrollment of the same learner and course) is a unique violation.
pub async fn insert_one<A, C>(db: &C, row: A) -> Result<(), DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
{
    A::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Inserts the rows no unique index refuses, also for earlier rows of the
/// same call, and returns the ids of those inserted. Conflicts are left to
/// the unique indexes (`ON CONFLICT DO NOTHING`): checking first with
/// `IN (...)` lists degrades to a scan per batch as the table grows.
pub async fn insert_new<A, C>(db: &C, rows: Vec<A>) -> Result<Vec<String>, DbErr>
where
    A: ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    <A::Entity as EntityTrait>::PrimaryKey: PrimaryKeyTrait<ValueType = String>,
    C: ConnectionTrait,
{
    let mut inserted = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        // Chunked to stay under bind-parameter limits (14 columns per row).
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        let ids = A::Entity::insert_many(chunk)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_with_returning_keys(db)
            .await?;
        inserted.extend(ids);
    }
    Ok(inserted)
}

/// The `select` column, as text, of the rows `condition` picks: what an
/// id lookup reads (`.one(db)` for a unique key, `.all(db)` for many).
pub fn column_where<E: EntityTrait>(
    select: E::Column,
    condition: impl IntoCondition,
) -> Selector<SelectGetableTuple<String>> {
    E::find()
        .select_only()
        .column(select)
        .filter(condition)
        .into_tuple()
}
