//! SQL of the course service, through sea-orm. Functions take any connection
//! or transaction and return `DbErr`; callers decide what an error means.

pub mod courses;
pub mod programs;
pub mod skills;

use sea_orm::sea_query::IntoCondition;
use sea_orm::{EntityTrait, QueryFilter, QuerySelect, SelectGetableTuple, Selector};

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
