//! SQL of the `invitations` table.

use academy_domain::PageRequest;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::InvitationState;
use crate::entity::invitation;

/// The keys one person is known by; any of them matching an invitation of
/// the program makes it that person's.
#[derive(Debug, Clone, Default)]
pub struct PersonKeys {
    pub learner_id: Option<String>,
    pub emails: Vec<String>,
    pub external_ids: Vec<String>,
}

impl PersonKeys {
    /// Any of the keys, each within `program` when given. The program is
    /// repeated in every branch so each branch is one (program, key) index
    /// lookup: `program AND (a OR b OR c)` makes SQLite walk every
    /// invitation of the program, per row of an import.
    fn condition(&self, program: Option<&str>) -> Option<Condition> {
        let within = |branch: Condition| match program {
            Some(p) => branch.add(invitation::Column::ProgramId.eq(p)),
            None => branch,
        };
        let mut any = Condition::any();
        let mut empty = true;
        if let Some(l) = &self.learner_id {
            any = any.add(within(
                Condition::all().add(invitation::Column::LearnerId.eq(l.as_str())),
            ));
            empty = false;
        }
        if !self.emails.is_empty() {
            any = any.add(within(Condition::all().add(
                invitation::Column::Email.is_in(self.emails.iter().map(String::as_str)),
            )));
            empty = false;
        }
        if !self.external_ids.is_empty() {
            any = any.add(within(Condition::all().add(
                invitation::Column::ExternalId.is_in(self.external_ids.iter().map(String::as_str)),
            )));
            empty = false;
        }
        (!empty).then_some(any)
    }
}

/// The program's invitations of this person, oldest first.
pub async fn of_person<C: ConnectionTrait>(
    db: &C,
    program_id: &str,
    keys: &PersonKeys,
) -> Result<Vec<invitation::Model>, DbErr> {
    oldest_first(db, keys.condition(Some(program_id))).await
}

/// Every invitation of a learner (by id or, not yet linked, by its keys).
pub async fn of_learner<C: ConnectionTrait>(
    db: &C,
    keys: &PersonKeys,
) -> Result<Vec<invitation::Model>, DbErr> {
    oldest_first(db, keys.condition(None)).await
}

/// The invitations `condition` picks, oldest first; none without one.
async fn oldest_first<C: ConnectionTrait>(
    db: &C,
    condition: Option<Condition>,
) -> Result<Vec<invitation::Model>, DbErr> {
    let Some(condition) = condition else {
        return Ok(Vec::new());
    };
    invitation::Entity::find()
        .filter(condition)
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: invitation::Model) -> Result<(), DbErr> {
    let active: invitation::ActiveModel = row.into();
    invitation::Entity::insert(active)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<invitation::Model>, DbErr> {
    invitation::Entity::find_by_id(id.to_owned()).one(db).await
}

/// The invitation, locked for the rest of the transaction (PostgreSQL).
pub async fn get_for_update<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<invitation::Model>, DbErr> {
    let mut query = invitation::Entity::find_by_id(id.to_owned());
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await
}

/// What an invitee did with an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered<'a> {
    /// Joined the program as this learner.
    Joined(&'a str),
    Declined,
}

/// Marks an invitation JOINED (by its learner) or DECLINED at `at`.
pub async fn answer<C: ConnectionTrait>(
    db: &C,
    id: &str,
    answered: Answered<'_>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use invitation::Column;
    let columns = match answered {
        Answered::Joined(learner_id) => vec![
            (Column::State, Expr::value(InvitationState::Joined.as_str())),
            (Column::LearnerId, Expr::value(learner_id)),
            (Column::JoinTime, Expr::value(at)),
        ],
        Answered::Declined => vec![
            (
                Column::State,
                Expr::value(InvitationState::Declined.as_str()),
            ),
            (Column::DeclineTime, Expr::value(at)),
        ],
    };
    set(db, id, now, columns).await
}

/// Hands an invitation to another learner (a merge).
pub async fn move_to<C: ConnectionTrait>(
    db: &C,
    id: &str,
    learner_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let learner = (invitation::Column::LearnerId, Expr::value(learner_id));
    set(db, id, now, vec![learner]).await
}

/// Sets `columns` of invitation `id`, and its update time to `now`.
async fn set<C: ConnectionTrait>(
    db: &C,
    id: &str,
    now: DateTime<Utc>,
    columns: Vec<(invitation::Column, Expr)>,
) -> Result<(), DbErr> {
    let mut update = invitation::Entity::update_many();
    for (column, value) in columns {
        update = update.col_expr(column, value);
    }
    update
        .col_expr(invitation::Column::UpdateTime, Expr::value(now))
        .filter(invitation::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), DbErr> {
    invitation::Entity::delete_by_id(id.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Erasure: the invitee's email and external id go from these invitations
/// (the learner id, an anonymous key, stays so reports keep their counts).
pub async fn erase_keys<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Email,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            invitation::Column::ExternalId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(invitation::Column::UpdateTime, Expr::value(now))
        .filter(invitation::Column::Id.is_in(ids.iter().map(String::as_str)))
        .exec(db)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    pub program_id: Option<String>,
    pub state: Option<InvitationState>,
}

impl InvitationFilter {
    pub fn describe(&self) -> String {
        format!("program={:?};state={:?}", self.program_id, self.state)
    }
}

/// A page of invitations in id (creation) order; the state filter is the
/// state as read at `now` (an INVITED invitation past its expiry is EXPIRED).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &InvitationFilter,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Vec<invitation::Model>, DbErr> {
    use invitation::Column as C;
    let mut query = invitation::Entity::find()
        .order_by_asc(C::Id)
        .limit(page.fetch_limit());
    if let Some(program_id) = &filter.program_id {
        query = query.filter(C::ProgramId.eq(program_id.as_str()));
    }
    let invited = InvitationState::Invited.as_str();
    query = match filter.state {
        None => query,
        Some(InvitationState::Invited) => query.filter(C::State.eq(invited)).filter(
            Condition::any()
                .add(C::ExpireTime.is_null())
                .add(C::ExpireTime.gt(now)),
        ),
        Some(InvitationState::Expired) => query
            .filter(C::State.eq(invited))
            .filter(C::ExpireTime.lte(now)),
        Some(other) => query.filter(C::State.eq(other.as_str())),
    };
    if let Some(after) = &page.after {
        query = query.filter(C::Id.gt(after.as_str()));
    }
    query.all(db).await
}

/// A new row's fields.
pub fn new_row(
    id: &str,
    program_id: &str,
    keys: (Option<String>, Option<String>, Option<String>),
    invite_time: DateTime<Utc>,
    expire_time: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> invitation::Model {
    let (learner_id, email, external_id) = keys;
    invitation::Model {
        id: id.to_owned(),
        program_id: program_id.to_owned(),
        learner_id,
        email,
        external_id,
        state: InvitationState::Invited.as_str().to_owned(),
        invite_time,
        expire_time,
        join_time: None,
        decline_time: None,
        create_time: now,
        update_time: now,
    }
}
