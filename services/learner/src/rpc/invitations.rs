//! InvitationService (issue #17, item 4): program invitations and their
//! states. Who an invitee is: a learner (by id or external id) or, not yet
//! registered, an email; one person has at most one invitation per program
//! (any of their keys matching makes a second one a duplicate). An
//! invitation joins when its learner first enrolls in the program
//! ([`join_on_enroll`], called by Enroll and BulkEnroll) or accepts.

use academy_domain::{
    AllValid, DomainError, Email, FieldViolation, PageRequest, Violations, id, text,
};
use academy_proto::events::{
    InvitationCreated, InvitationDeclined, InvitationJoined, event::Payload,
};
use academy_proto::learner as pb;
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::db::{db_error, is_unique_violation};
use academy_runtime::observability::trace::TraceContext;
use academy_runtime::time::timestamp;
use academy_runtime::write::UnitOfWork;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use super::Context;
use crate::convert::business_time;
use crate::domain::InvitationState;
use crate::entity::{invitation, learner};
use crate::store::invitations::{self, Answered, InvitationFilter, PersonKeys};
use crate::store::learners;

const INVITE: &str = "InviteLearners";

/// Most invitees one InviteLearners call may carry.
pub const MAX_INVITEES: usize = 1000;

/// One validated row: the invitee's keys as given, and its times.
#[derive(Debug, Clone)]
struct Row {
    learner_id: Option<String>,
    external_id: Option<String>,
    email: Option<String>,
    invite_time: DateTime<Utc>,
    expire_time: Option<DateTime<Utc>>,
    /// History from a provider's export: answered then, in the same call.
    answered: Option<(Answer, DateTime<Utc>)>,
}

fn parse_row(index: usize, invitee: &pb::Invitee, now: DateTime<Utc>) -> Result<Row, DomainError> {
    let field = |name: &str| format!("invitees[{index}].{name}");
    let (learner_id, external_id, email, (), (invite_time, expire_time, answered)) = (
        id::parse_optional_id(&field("learner_id"), &invitee.learner_id),
        present(&invitee.external_id)
            .map(|raw| text::required(&field("external_id"), raw, 200))
            .transpose(),
        present(&invitee.email)
            .map(|raw| Email::parse(&field("email"), raw).map(|e| e.as_str().to_owned()))
            .transpose(),
        named(index, invitee),
        times(index, invitee, now),
    )
        .all_valid()?;
    Ok(Row {
        learner_id,
        external_id,
        email,
        invite_time,
        expire_time,
        answered,
    })
}

/// A key the row sets (blank means unset).
fn present(raw: &str) -> Option<&str> {
    (!raw.trim().is_empty()).then_some(raw)
}

/// A row names its invitee by at least one key.
fn named(index: usize, invitee: &pb::Invitee) -> Result<(), FieldViolation> {
    let keys = [&invitee.learner_id, &invitee.external_id, &invitee.email];
    if keys.iter().all(|k| k.trim().is_empty()) {
        Err(FieldViolation::new(
            format!("invitees[{index}]"),
            "set at least one of learner_id, external_id or email",
        ))
    } else {
        Ok(())
    }
}

type Times = (
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<(Answer, DateTime<Utc>)>,
);

/// A row's invitation time, expiry and answer, none before the invitation.
fn times(
    index: usize,
    invitee: &pb::Invitee,
    now: DateTime<Utc>,
) -> Result<Times, Vec<FieldViolation>> {
    let field = |name: &str| format!("invitees[{index}].{name}");
    let expiry = invitee
        .expire_time
        .as_ref()
        .map(|ts| {
            academy_runtime::time::parse_timestamp(&field("expire_time"), Some(ts)).and_then(|t| {
                t.ok_or_else(|| {
                    FieldViolation::new(field("expire_time"), "is not a valid timestamp")
                })
            })
        })
        .transpose();
    let (invite_time, expire_time, answered) = (
        business_time(&field("invited_at"), invitee.invited_at.as_ref(), now),
        expiry,
        history(index, invitee, now),
    )
        .all_valid_or_violations()?;
    let mut violations = Vec::new();
    if expire_time.is_some_and(|expiry| expiry < invite_time) {
        violations.push(FieldViolation::new(
            field("expire_time"),
            "must not be before invited_at",
        ));
    }
    if let Some((answer, at)) = answered
        && at < invite_time
    {
        violations.push(FieldViolation::new(
            field(answer.history_field()),
            "must not be before invited_at",
        ));
    }
    if violations.is_empty() {
        Ok((invite_time, expire_time, answered))
    } else {
        Err(violations)
    }
}

/// A row's joined_at or declined_at (never both), as the answer it records.
fn history(
    index: usize,
    invitee: &pb::Invitee,
    now: DateTime<Utc>,
) -> Result<Option<(Answer, DateTime<Utc>)>, FieldViolation> {
    let field = |name: &str| format!("invitees[{index}].{name}");
    match (&invitee.joined_at, &invitee.declined_at) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(FieldViolation::new(
            field("declined_at"),
            "set joined_at or declined_at, not both",
        )),
        (Some(at), None) => {
            business_time(&field("joined_at"), Some(at), now).map(|at| Some((Answer::Accept, at)))
        }
        (None, Some(at)) => business_time(&field("declined_at"), Some(at), now)
            .map(|at| Some((Answer::Decline, at))),
    }
}

/// The learner a row names, if any: NOT_FOUND for a learner id or an
/// external id (without an email to invite instead) that names no one;
/// FAILED_PRECONDITION for an ERASED or MERGED learner.
async fn invitee_learner<C: ConnectionTrait>(
    db: &C,
    row: &Row,
) -> Result<Option<learner::Model>, WriteError> {
    let mut id = row.learner_id.clone();
    if id.is_none()
        && let Some(external_id) = &row.external_id
    {
        id = learners::id_by_external_id(db, external_id).await?;
        if id.is_none() && row.email.is_none() {
            return Err(DomainError::not_found("learner", "with this external_id").into());
        }
    }
    if id.is_none()
        && let Some(email) = &row.email
    {
        id = learners::id_by_email(db, email).await?;
    }
    let Some(id) = id else { return Ok(None) };
    Ok(Some(super::learners::active_learner(db, &id).await?))
}

/// Every key a person is known by: the row's and, for a learner, theirs.
fn person_keys(row: &Row, learner: Option<&learner::Model>) -> PersonKeys {
    let mut keys = PersonKeys {
        learner_id: learner.map(|l| l.id.clone()),
        emails: row.email.iter().cloned().collect(),
        external_ids: row.external_id.iter().cloned().collect(),
    };
    if let Some(l) = learner {
        keys.emails.extend(l.email.iter().cloned());
        keys.external_ids.extend(l.external_id.iter().cloned());
    }
    keys
}

/// One call invites at least one and at most [`MAX_INVITEES`] people.
fn invitee_count(count: usize) -> Result<(), FieldViolation> {
    if count == 0 {
        Err(FieldViolation::new(
            "invitees",
            "at least one invitee is required",
        ))
    } else if count > MAX_INVITEES {
        Err(FieldViolation::new(
            "invitees",
            format!("at most {MAX_INVITEES} invitees per call; send the rest in another call"),
        ))
    } else {
        Ok(())
    }
}

pub async fn invite(
    ctx: &Context,
    req: pb::InviteLearnersRequest,
    trace: TraceContext,
) -> Result<pb::InviteLearnersResponse, DomainError> {
    let (program_id, request_id, ()) = (
        id::parse_id("program_id", &req.program_id),
        idempotency::parse_request_id(&req.request_id),
        invitee_count(req.invitees.len()),
    )
        .all_valid()?;
    // A request id used before for another request is refused before anything.
    let key = Key::new(INVITE, request_id.as_deref(), &req);
    idempotency::replayed(&ctx.db, key.as_ref()).await?;
    ctx.courses.ensure_program(&program_id, &trace).await?;
    let now = Utc::now();
    let rows: Vec<Result<Row, DomainError>> = req
        .invitees
        .iter()
        .enumerate()
        .map(|(index, invitee)| parse_row(index, invitee, now))
        .collect();
    let written = write_rows(ctx, &program_id, &rows, key.as_ref()).await?;
    let mut answer = pb::InviteLearnersResponse::default();
    for (index, result) in written.into_iter().enumerate() {
        let index = index as i64;
        answer.results.push(match result {
            Ok(done) => {
                if done.created {
                    answer.created += 1;
                } else {
                    answer.duplicates += 1;
                }
                pb::InviteResult {
                    index,
                    outcome: if done.created {
                        pb::InviteOutcome::Created
                    } else {
                        pb::InviteOutcome::Duplicate
                    } as i32,
                    invitation: Some(to_proto(done.invitation, now)?),
                    answered: done.answered,
                    ..Default::default()
                }
            }
            Err(err) => {
                answer.rejected += 1;
                rejected(index, err)
            }
        });
    }
    Ok(answer)
}

/// A rejected row's result: reason, first field and gRPC code.
fn rejected(index: i64, err: DomainError) -> pb::InviteResult {
    let code = code_of(&err);
    let (field, reason) = super::field_and_reason(err);
    pb::InviteResult {
        index,
        outcome: pb::InviteOutcome::Rejected as i32,
        reason,
        field,
        code: code.to_owned(),
        ..Default::default()
    }
}

/// The gRPC code a row's error would be on its own, as its canonical name.
fn code_of(err: &DomainError) -> &'static str {
    match err {
        DomainError::InvalidArgument { .. } => "INVALID_ARGUMENT",
        DomainError::NotFound { .. } => "NOT_FOUND",
        DomainError::AlreadyExists { .. } => "ALREADY_EXISTS",
        DomainError::FailedPrecondition { .. } => "FAILED_PRECONDITION",
        DomainError::PermissionDenied { .. } => "PERMISSION_DENIED",
        DomainError::Aborted { .. } => "ABORTED",
        DomainError::Unavailable { .. } => "UNAVAILABLE",
        DomainError::DeadlineExceeded { .. } => "DEADLINE_EXCEEDED",
        DomainError::ResourceExhausted { .. } => "RESOURCE_EXHAUSTED",
        _ => "INTERNAL",
    }
}

/// What writing one row did.
struct Written {
    /// A new invitation (else the person's invitation already there).
    created: bool,
    /// The row's history answer was applied by this call.
    answered: bool,
    invitation: invitation::Model,
}

/// Writes every valid row in one transaction, each row in a savepoint so a
/// rejected row leaves nothing while the others stay; per row, what
/// happened. A unique-key race with a concurrent invite retries the whole
/// call once (the winner's invitations are then duplicates).
async fn write_rows(
    ctx: &Context,
    program_id: &str,
    rows: &[Result<Row, DomainError>],
    key: Option<&Key>,
) -> Result<Vec<Result<Written, DomainError>>, DomainError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write_batch(ctx, program_id, rows, key).await {
            Ok(done) => return Ok(done),
            Err(err) if is_unique_violation(&err) && attempt < 2 => continue,
            Err(err) => return Err(db_error(err)),
        }
    }
}

async fn write_batch(
    ctx: &Context,
    program_id: &str,
    rows: &[Result<Row, DomainError>],
    key: Option<&Key>,
) -> Result<Vec<Result<Written, DomainError>>, DbErr> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let now = Utc::now();
    let mut events = Vec::new();
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(err) => {
                results.push(Err(err.clone()));
                continue;
            }
        };
        let savepoint = uow.txn().begin().await?;
        let mut row_events = Vec::new();
        match write_row(&savepoint, program_id, row, now, &mut row_events).await {
            Ok(done) => {
                savepoint.commit().await?;
                events.append(&mut row_events);
                results.push(Ok(done));
            }
            Err(WriteError::Domain(err)) => {
                savepoint.rollback().await?;
                results.push(Err(err));
            }
            Err(WriteError::Db(err)) => return Err(err),
        }
    }
    // The key is stored only when the call created something; a call that
    // created nothing leaves nothing to replay.
    if results.iter().any(|r| matches!(r, Ok(w) if w.created)) {
        uow.remember(INVITE, key, program_id).await?;
    }
    // The events of every row, with one audit entry for the call.
    if !events.is_empty() {
        uow.emit_many(events).await?;
    }
    uow.commit().await?;
    Ok(results)
}

/// Invites one person (or finds their invitation), then applies the row's
/// history answer; the events go to `events`.
async fn write_row<C: ConnectionTrait>(
    txn: &C,
    program_id: &str,
    row: &Row,
    now: DateTime<Utc>,
    events: &mut Vec<(DateTime<Utc>, Payload)>,
) -> Result<Written, WriteError> {
    let learner = invitee_learner(txn, row).await?;
    let keys = person_keys(row, learner.as_ref());
    let existing = invitations::of_person(txn, program_id, &keys)
        .await?
        .into_iter()
        .next();
    let (created, invitation) = match existing {
        Some(existing) => (false, existing),
        None => (
            true,
            create(txn, program_id, row, learner.as_ref(), now, events).await?,
        ),
    };
    let Some((wanted, at)) = row.answered else {
        return Ok(Written {
            created,
            answered: false,
            invitation,
        });
    };
    let open = InvitationState::read(&invitation.state, invitation.expire_time, at)?
        == InvitationState::Invited;
    if !open || at < invitation.invite_time {
        return Ok(Written {
            created,
            answered: false,
            invitation,
        });
    }
    events.push((at, transition(txn, &invitation, wanted, at, now).await?));
    Ok(Written {
        created,
        answered: true,
        invitation: stored(txn, &invitation.id).await?,
    })
}

/// A new invitation for the row's person; a learner already enrolled in the
/// program has joined at once, as of the invitation.
async fn create<C: ConnectionTrait>(
    txn: &C,
    program_id: &str,
    row: &Row,
    learner: Option<&learner::Model>,
    now: DateTime<Utc>,
    events: &mut Vec<(DateTime<Utc>, Payload)>,
) -> Result<invitation::Model, WriteError> {
    let id = id::new_id();
    let new = invitations::new_row(
        &id,
        program_id,
        (
            learner.map(|l| l.id.clone()),
            row.email.clone(),
            row.external_id.clone(),
        ),
        row.invite_time,
        row.expire_time,
        now,
    );
    invitations::insert(txn, new.clone()).await?;
    events.push((
        row.invite_time,
        Payload::InvitationCreated(InvitationCreated {
            invitation_id: id.clone(),
            program_id: program_id.to_owned(),
            learner_id: new.learner_id.clone().unwrap_or_default(),
        }),
    ));
    if let Some(l) = learner
        && crate::store::enrollments::in_program(txn, &l.id, program_id).await?
    {
        invitations::answer(txn, &id, Answered::Joined(&l.id), row.invite_time, now).await?;
        events.push((row.invite_time, joined_event(&new, &l.id)));
    }
    stored(txn, &id).await
}

/// An invitation as stored (PostgreSQL keeps microseconds), so a later read
/// answers the same invitation.
async fn stored<C: ConnectionTrait>(txn: &C, id: &str) -> Result<invitation::Model, WriteError> {
    Ok(invitations::get(txn, id)
        .await?
        .ok_or_else(|| DomainError::internal("an invitation just written is missing"))?)
}

fn joined_event(i: &invitation::Model, learner_id: &str) -> Payload {
    Payload::InvitationJoined(InvitationJoined {
        invitation_id: i.id.clone(),
        program_id: i.program_id.clone(),
        learner_id: learner_id.to_owned(),
    })
}

/// Joins the INVITED, unexpired invitations of an enrolling learner to
/// `program_id` (as of `at`, the enrollment's business time) and returns
/// their events, for the enrollment's transaction to append.
pub async fn join_on_enroll<C: ConnectionTrait>(
    txn: &C,
    learner_id: &str,
    program_id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, Payload)>, sea_orm::DbErr> {
    let Some(l) = learners::get(txn, learner_id).await? else {
        return Ok(Vec::new());
    };
    let keys = PersonKeys {
        learner_id: Some(l.id.clone()),
        emails: l.email.iter().cloned().collect(),
        external_ids: l.external_id.iter().cloned().collect(),
    };
    let now = Utc::now();
    let mut events = Vec::new();
    for i in invitations::of_person(txn, program_id, &keys).await? {
        let open = InvitationState::read(&i.state, i.expire_time, at)
            .is_ok_and(|s| s == InvitationState::Invited);
        if open && at >= i.invite_time {
            invitations::answer(txn, &i.id, Answered::Joined(learner_id), at, now).await?;
            events.push((at, joined_event(&i, learner_id)));
        }
    }
    Ok(events)
}

pub async fn get(
    ctx: &Context,
    req: pb::GetInvitationRequest,
) -> Result<pb::Invitation, DomainError> {
    let id = id::parse_id("id", &req.id)?;
    load(ctx, &id).await
}

async fn load(ctx: &Context, id: &str) -> Result<pb::Invitation, DomainError> {
    let row = invitations::get(&ctx.db, id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("invitation", id))?;
    to_proto(row, Utc::now())
}

pub async fn list(
    ctx: &Context,
    req: pb::ListInvitationsRequest,
) -> Result<pb::ListInvitationsResponse, DomainError> {
    let mut v = Violations::new();
    let program_id = v
        .check(id::parse_optional_id("program_id", &req.program_id))
        .flatten();
    let state = v.check(state_filter(req.state)).flatten();
    v.finish()?;
    let filter = InvitationFilter { program_id, state };
    let page = PageRequest::parse(req.page_size, &req.page_token, &filter.describe())?;
    let now = Utc::now();
    let rows = invitations::list(&ctx.db, &filter, &page, now)
        .await
        .map_err(db_error)?;
    let (rows, next_page_token) = page.finish(rows, |i| i.id.clone());
    Ok(pb::ListInvitationsResponse {
        invitations: rows
            .into_iter()
            .map(|r| to_proto(r, now))
            .collect::<Result<_, _>>()?,
        next_page_token,
    })
}

fn state_filter(raw: i32) -> Result<Option<InvitationState>, FieldViolation> {
    use pb::InvitationState as S;
    match S::try_from(raw) {
        Ok(S::Unspecified) => Ok(None),
        Ok(S::Invited) => Ok(Some(InvitationState::Invited)),
        Ok(S::Joined) => Ok(Some(InvitationState::Joined)),
        Ok(S::Declined) => Ok(Some(InvitationState::Declined)),
        Ok(S::Expired) => Ok(Some(InvitationState::Expired)),
        Err(_) => Err(FieldViolation::new(
            "state",
            "is not a known invitation state",
        )),
    }
}

/// Which transition a call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Accept,
    Decline,
}

impl Answer {
    /// The Invitee field that records this answer as history.
    fn history_field(self) -> &'static str {
        match self {
            Answer::Accept => "joined_at",
            Answer::Decline => "declined_at",
        }
    }
}

pub async fn accept(
    ctx: &Context,
    req: pb::AcceptInvitationRequest,
) -> Result<pb::Invitation, DomainError> {
    answer(
        ctx,
        &req.id,
        req.accepted_at.as_ref(),
        "accepted_at",
        Answer::Accept,
    )
    .await
}

pub async fn decline(
    ctx: &Context,
    req: pb::DeclineInvitationRequest,
) -> Result<pb::Invitation, DomainError> {
    answer(
        ctx,
        &req.id,
        req.declined_at.as_ref(),
        "declined_at",
        Answer::Decline,
    )
    .await
}

/// AcceptInvitation / DeclineInvitation: INVITED → JOINED or DECLINED at
/// the business time given (the state is judged as of that time, so a
/// backfilled acceptance before the expiry still joins). Repeating the same
/// answer returns the invitation unchanged.
async fn answer(
    ctx: &Context,
    raw_id: &str,
    at: Option<&prost_types::Timestamp>,
    at_field: &str,
    wanted: Answer,
) -> Result<pb::Invitation, DomainError> {
    let now = Utc::now();
    let (id, at) = (id::parse_id("id", raw_id), business_time(at_field, at, now)).all_valid()?;
    let result: Result<(), WriteError> = async {
        let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
        let txn = uow.txn();
        let row = invitations::get_for_update(txn, &id)
            .await?
            .ok_or_else(|| DomainError::not_found("invitation", &id))?;
        let state = InvitationState::read(&row.state, row.expire_time, at)?;
        match (state, wanted) {
            (InvitationState::Joined, Answer::Accept)
            | (InvitationState::Declined, Answer::Decline) => return Ok(()),
            (InvitationState::Invited, _) => {}
            (other, _) => return Err(other.refusal().into()),
        }
        if at < row.invite_time {
            return Err(DomainError::invalid(
                at_field,
                "must not be before the invitation's invite_time",
            )
            .into());
        }
        let event = transition(txn, &row, wanted, at, now).await?;
        uow.emit(at, event).await?;
        uow.commit().await?;
        Ok(())
    }
    .await;
    result?;
    load(ctx, &id).await
}

/// INVITED → JOINED (the invitee must be a learner by now) or DECLINED at
/// `at`; the event to append.
async fn transition<C: ConnectionTrait>(
    txn: &C,
    row: &invitation::Model,
    wanted: Answer,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Payload, WriteError> {
    Ok(match wanted {
        Answer::Accept => {
            let Some(learner_id) = invitee_now(txn, row).await? else {
                return Err(DomainError::precondition(
                    "INVITEE_NOT_REGISTERED",
                    "the invitee is not a learner yet: register them (or let them enroll) first",
                )
                .into());
            };
            invitations::answer(txn, &row.id, Answered::Joined(&learner_id), at, now).await?;
            joined_event(row, &learner_id)
        }
        Answer::Decline => {
            invitations::answer(txn, &row.id, Answered::Declined, at, now).await?;
            Payload::InvitationDeclined(InvitationDeclined {
                invitation_id: row.id.clone(),
                program_id: row.program_id.clone(),
            })
        }
    })
}

/// The learner an invitation is for now: its learner, or the ACTIVE
/// learner who registered since with its external id or email.
async fn invitee_now<C: ConnectionTrait>(
    txn: &C,
    i: &invitation::Model,
) -> Result<Option<String>, WriteError> {
    if let Some(id) = &i.learner_id {
        return Ok(Some(id.clone()));
    }
    let mut found = None;
    if let Some(external_id) = &i.external_id {
        found = learners::id_by_external_id(txn, external_id).await?;
    }
    if found.is_none()
        && let Some(email) = &i.email
    {
        found = learners::id_by_email(txn, email).await?;
    }
    let Some(id) = found else { return Ok(None) };
    super::learners::active_learner(txn, &id).await?;
    Ok(Some(id))
}

pub fn to_proto(i: invitation::Model, now: DateTime<Utc>) -> Result<pb::Invitation, DomainError> {
    let state = match InvitationState::read(&i.state, i.expire_time, now)? {
        InvitationState::Invited => pb::InvitationState::Invited,
        InvitationState::Joined => pb::InvitationState::Joined,
        InvitationState::Declined => pb::InvitationState::Declined,
        InvitationState::Expired => pb::InvitationState::Expired,
    };
    Ok(pb::Invitation {
        id: i.id,
        program_id: i.program_id,
        learner_id: i.learner_id.unwrap_or_default(),
        email: i.email.unwrap_or_default(),
        external_id: i.external_id.unwrap_or_default(),
        state: state as i32,
        invite_time: Some(timestamp(i.invite_time)),
        expire_time: i.expire_time.map(timestamp),
        join_time: i.join_time.map(timestamp),
        decline_time: i.decline_time.map(timestamp),
        create_time: Some(timestamp(i.create_time)),
        update_time: Some(timestamp(i.update_time)),
    })
}

/// Erasure: the email and external id of these learners' invitations go
/// (called before the learner rows lose their keys, which find unlinked
/// invitations).
pub async fn erase_invitee<C: ConnectionTrait>(
    txn: &C,
    learner_ids: &[String],
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    for id in learner_ids {
        let Some(l) = learners::get(txn, id).await? else {
            continue;
        };
        let keys = PersonKeys {
            learner_id: Some(l.id.clone()),
            emails: l.email.iter().cloned().collect(),
            external_ids: l.external_id.iter().cloned().collect(),
        };
        let ids: Vec<String> = invitations::of_learner(txn, &keys)
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect();
        invitations::erase_keys(txn, &ids, now).await?;
    }
    Ok(())
}

/// MergeLearners: the duplicate's invitations become the survivor's. Where
/// both were invited to the same program one invitation stays (the JOINED
/// one if either is, else the earlier invitation); the ids of those dropped
/// are returned for the `learner.merged` event.
pub async fn merge<C: ConnectionTrait>(
    txn: &C,
    survivor: &learner::Model,
    duplicate: &learner::Model,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sea_orm::DbErr> {
    let keys_of = |l: &learner::Model| PersonKeys {
        learner_id: Some(l.id.clone()),
        emails: l.email.iter().cloned().collect(),
        external_ids: l.external_id.iter().cloned().collect(),
    };
    let survivor_keys = keys_of(survivor);
    let mut folded = Vec::new();
    for theirs in invitations::of_learner(txn, &keys_of(duplicate)).await? {
        let ours = invitations::of_person(txn, &theirs.program_id, &survivor_keys)
            .await?
            .into_iter()
            .find(|i| i.id != theirs.id);
        match ours {
            None => invitations::move_to(txn, &theirs.id, &survivor.id, now).await?,
            Some(ours) => {
                let rank =
                    |i: &invitation::Model| (i.state != "JOINED", i.invite_time, i.id.clone());
                let (kept, dropped) = if rank(&theirs) < rank(&ours) {
                    (theirs, ours)
                } else {
                    (ours, theirs)
                };
                invitations::delete(txn, &dropped.id).await?;
                invitations::move_to(txn, &kept.id, &survivor.id, now).await?;
                folded.push(dropped.id);
            }
        }
    }
    Ok(folded)
}
