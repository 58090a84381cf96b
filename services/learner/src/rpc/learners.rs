//! Handlers of the RPCs about learners: each validates its request, calls the
//! store and builds the answer (the tonic wiring is in `api.rs`).

use academy_domain::{DomainError, PageRequest, Region, Violations, id};
use academy_proto::events::{LearnerErased, event::Payload};
use academy_proto::learner as pb;
use academy_runtime::auth::DataScope;
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::feed::outbox;
use academy_runtime::write::UnitOfWork;
use chrono::Utc;

use super::Context;
use crate::convert;
use crate::domain::{LearnerState, NewLearner};
use crate::store::learners::{self, LearnerFilter};

const REGISTER: &str = "RegisterLearner";

/// What a write answers a caller without `learners.read`: the id, state,
/// times and etag, no personal data (issue #15, item 5).
fn answer(learner: pb::Learner, reads: bool) -> pb::Learner {
    if reads {
        return learner;
    }
    pb::Learner {
        id: learner.id,
        state: learner.state,
        create_time: learner.create_time,
        update_time: learner.update_time,
        etag: learner.etag,
        register_time: learner.register_time,
        ..Default::default()
    }
}

/// RegisterLearner; the full record only for a caller that `reads`.
pub async fn register(
    ctx: &Context,
    req: pb::RegisterLearnerRequest,
    reads: bool,
) -> Result<pb::Learner, DomainError> {
    register_learner(ctx, req).await.map(|l| answer(l, reads))
}

async fn register_learner(
    ctx: &Context,
    req: pb::RegisterLearnerRequest,
) -> Result<pb::Learner, DomainError> {
    let new = convert::new_learner(&req, Utc::now())?;
    let request_id = idempotency::parse_request_id(&req.request_id)?;
    let key = Key::new(REGISTER, request_id.as_deref(), &req);
    if let Some(id) = idempotency::replayed(&ctx.db, key.as_ref()).await? {
        return load(ctx, &id).await;
    }
    let id = id::new_id();
    let id = match insert(ctx, &id, &new, key.as_ref()).await {
        Ok(id) => id,
        Err(err) => {
            idempotency::recover(&ctx.db, key.as_ref(), err, || DomainError::AlreadyExists {
                resource: "learner",
                field: "email or external_id",
            })
            .await?
        }
    };
    load(ctx, &id).await
}

async fn insert(
    ctx: &Context,
    id: &str,
    new: &NewLearner,
    key: Option<&Key>,
) -> Result<String, WriteError> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let txn = uow.txn();
    if let Some(existing) = uow.replayed(key).await? {
        return Ok(existing);
    }
    ensure_unique(
        txn,
        new.profile.email.as_str(),
        new.profile.external_id.as_deref(),
        None,
    )
    .await?;
    let now = Utc::now();
    crate::store::insert_one(txn, learners::new_row(id, new, now)).await?;
    uow.remember(REGISTER, key, id).await?;
    uow.emit(
        new.register_time,
        convert::learner_registered(id, &new.profile),
    )
    .await?;
    uow.commit().await?;
    Ok(id.to_owned())
}

/// The learner `id`: NOT_FOUND when there is none, FAILED_PRECONDITION
/// when it was erased or merged.
pub async fn active_learner<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<crate::entity::learner::Model, WriteError> {
    let found = learners::get(db, id)
        .await?
        .ok_or_else(|| DomainError::not_found("learner", id))?;
    LearnerState::from_stored(&found.state)?.ensure_active()?;
    Ok(found)
}

/// ALREADY_EXISTS when another learner (not `except`) holds the email or external id.
async fn ensure_unique<C: sea_orm::ConnectionTrait>(
    db: &C,
    email: &str,
    external_id: Option<&str>,
    except: Option<&str>,
) -> Result<(), WriteError> {
    let other = |found: Option<String>| found.is_some_and(|id| Some(id.as_str()) != except);
    if other(learners::id_by_email(db, email).await?) {
        return Err(DomainError::AlreadyExists {
            resource: "learner",
            field: "email",
        }
        .into());
    }
    let external_owner = match external_id {
        Some(external_id) => learners::id_by_external_id(db, external_id).await?,
        None => None,
    };
    if other(external_owner) {
        return Err(DomainError::AlreadyExists {
            resource: "learner",
            field: "external_id",
        }
        .into());
    }
    Ok(())
}

/// GetLearner; a learner outside the caller's data scope is NOT_FOUND (as
/// if it did not exist: the answer does not say who is registered).
pub async fn get(
    ctx: &Context,
    req: pb::GetLearnerRequest,
    data: &DataScope,
) -> Result<pb::Learner, DomainError> {
    let id = id::parse_id("id", &req.id)?;
    let survivor = super::merge::resolve(&ctx.db, &id).await?;
    if data.is_limited()
        && !learners::visible(&ctx.db, &survivor, data)
            .await
            .map_err(db_error)?
    {
        return Err(DomainError::not_found("learner", id));
    }
    let mut learner = load(ctx, &survivor).await?;
    audit_reads(ctx, std::slice::from_ref(&learner.id)).await?;
    if survivor != id {
        learner.merged_from_id = id;
    }
    Ok(learner)
}

/// Records who read these learners' records (issue #15, item 9); the
/// answer is not sent unless the entries are written.
async fn audit_reads(ctx: &Context, ids: &[String]) -> Result<(), DomainError> {
    academy_runtime::audit::record_reads(&ctx.db, READ, ids)
        .await
        .map_err(db_error)
}

/// The audit action of a read of a learner's personal data.
pub const READ: &str = "learner.read";

async fn load(ctx: &Context, id: &str) -> Result<pb::Learner, DomainError> {
    let row = learners::get(&ctx.db, id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("learner", id))?;
    convert::learner_to_proto(row)
}

/// ListLearners, over the caller's data scope only.
pub async fn list(
    ctx: &Context,
    req: pb::ListLearnersRequest,
    data: &DataScope,
) -> Result<pb::ListLearnersResponse, DomainError> {
    let mut v = Violations::new();
    let region = if req.region.trim().is_empty() {
        None
    } else {
        v.check(Region::parse("region", &req.region))
            .map(|r| r.as_str().to_owned())
    };
    let program_id = v
        .check(id::parse_optional_id("program_id", &req.program_id))
        .flatten();
    v.finish()?;
    let filter = LearnerFilter {
        region,
        program_id,
        data: data.clone(),
    };
    let page = PageRequest::parse(req.page_size, &req.page_token, &filter.describe())?;
    let rows = learners::list(&ctx.db, &filter, &page)
        .await
        .map_err(db_error)?;
    let (rows, next_page_token) = page.finish(rows, |l| l.id.clone());
    let ids: Vec<String> = rows.iter().map(|l| l.id.clone()).collect();
    audit_reads(ctx, &ids).await?;
    Ok(pb::ListLearnersResponse {
        learners: rows
            .into_iter()
            .map(convert::learner_to_proto)
            .collect::<Result<_, _>>()?,
        next_page_token,
    })
}

/// UpdateLearner; the full record only for a caller that `reads`. Changing
/// the e-mail or external id also needs `learners.read`: a conflict there
/// would tell a write-only caller who else is registered.
pub async fn update(
    ctx: &Context,
    req: pb::UpdateLearnerRequest,
    reads: bool,
) -> Result<pb::Learner, DomainError> {
    let unique = req
        .update_mask
        .as_ref()
        .is_some_and(|m| m.paths.iter().any(|p| p == "email" || p == "external_id"));
    if unique && !reads {
        return Err(DomainError::PermissionDenied {
            message: "changing email or external_id also needs the `learners.read` scope"
                .to_owned(),
        });
    }
    update_learner(ctx, req).await.map(|l| answer(l, reads))
}

async fn update_learner(
    ctx: &Context,
    req: pb::UpdateLearnerRequest,
) -> Result<pb::Learner, DomainError> {
    let now = Utc::now();
    let id = id::parse_id(
        "learner.id",
        req.learner
            .as_ref()
            .map(|l| l.id.as_str())
            .unwrap_or_default(),
    )?;
    let patch = convert::learner_patch(req.learner, req.update_mask, now)?;
    let result: Result<(), WriteError> = async {
        let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
        let txn = uow.txn();
        let row = active_learner(txn, &id).await?;
        if !req.etag.is_empty() && req.etag != convert::etag(row.revision) {
            return Err(DomainError::Aborted {
                resource: "learner",
            }
            .into());
        }
        let mut profile = convert::stored_profile(&row)?;
        patch.apply(&mut profile);
        ensure_unique(
            txn,
            profile.email.as_str(),
            profile.external_id.as_deref(),
            Some(&id),
        )
        .await?;
        if !learners::update_profile(txn, &id, row.revision, &profile, now).await? {
            return Err(DomainError::Aborted {
                resource: "learner",
            }
            .into());
        }
        uow.emit(now, convert::learner_updated(&id, &profile))
            .await?;
        uow.commit().await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {}
        Err(WriteError::Db(err)) if academy_runtime::db::is_unique_violation(&err) => {
            return Err(DomainError::AlreadyExists {
                resource: "learner",
                field: "email or external_id",
            });
        }
        Err(err) => return Err(err.into()),
    }
    load(ctx, &id).await
}

/// Erases personal data: the learner row keeps only anonymous facts, and
/// the organisation is removed from every event about the learner.
pub async fn erase(
    ctx: &Context,
    req: pb::EraseLearnerRequest,
) -> Result<pb::Learner, DomainError> {
    let id = id::parse_id("id", &req.id)?;
    let result: Result<(), WriteError> = async {
        let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
        let txn = uow.txn();
        let row = learners::get(txn, &id)
            .await?
            .ok_or_else(|| DomainError::not_found("learner", &id))?;
        let state = LearnerState::from_stored(&row.state)?;
        if state == LearnerState::Erased {
            return Ok(());
        }
        // A MERGED learner is erased through its survivor.
        state.ensure_active()?;
        let now = Utc::now();
        // The person's invitations lose their email and external id too
        // (issue #17), found while the learner rows still hold the keys.
        let mut people = super::merge::absorbed(txn, &id).await?;
        people.push(id.clone());
        super::invitations::erase_invitee(txn, &people, now).await?;
        learners::erase(txn, &id, now).await?;
        // Request ids are often built from an e-mail (`signup:<email>`):
        // the keys of every call about the learner go too.
        let mut resources = crate::store::enrollments::ids_of_learner(txn, &id).await?;
        resources.push(id.clone());
        // The learners merged into this one are the same person (#19).
        let absorbed = super::merge::absorbed(txn, &id).await?;
        for person in absorbed.iter().chain(std::iter::once(&id)) {
            if person != &id {
                learners::erase(txn, person, now).await?;
                resources.push(person.clone());
            }
            outbox::redact(txn, person, |payload| match payload {
                Payload::LearnerRegistered(e) => e.organization.clear(),
                Payload::LearnerUpdated(e) => e.organization.clear(),
                _ => {}
            })
            .await?;
        }
        idempotency::forget(txn, &resources).await?;
        let event = Payload::LearnerErased(LearnerErased {
            learner_id: id.clone(),
        });
        uow.emit(now, event).await?;
        uow.commit().await?;
        Ok(())
    }
    .await;
    result?;
    academy_runtime::db::flush_erased(&ctx.db).await;
    load(ctx, &id).await
}

/// LookupLearner: the learner holding an external id or an e-mail. Not
/// found names the kind of key only, never its value (both are personal
/// data: erasure removes them).
pub async fn lookup(
    ctx: &Context,
    req: pb::LookupLearnerRequest,
) -> Result<pb::Learner, DomainError> {
    use pb::lookup_learner_request::Key as By;
    let found = match req.key {
        Some(By::ExternalId(raw)) => {
            let external_id = academy_domain::text::required("external_id", &raw, 200)?;
            learners::id_by_external_id(&ctx.db, &external_id)
                .await
                .map_err(db_error)?
                .ok_or_else(|| DomainError::not_found("learner", "with this external_id"))?
        }
        Some(By::Email(raw)) => {
            let email = academy_domain::Email::parse("email", &raw)?;
            learners::id_by_email(&ctx.db, email.as_str())
                .await
                .map_err(db_error)?
                .ok_or_else(|| DomainError::not_found("learner", "with this email"))?
        }
        None => {
            return Err(DomainError::invalid(
                "key",
                "set exactly one of external_id or email",
            ));
        }
    };
    // A MERGED learner keeps its keys: they answer its survivor (issue #19).
    let survivor = super::merge::resolve(&ctx.db, &found).await?;
    let mut learner = load(ctx, &survivor).await?;
    audit_reads(ctx, std::slice::from_ref(&learner.id)).await?;
    if survivor != found {
        learner.merged_from_id = found;
    }
    Ok(learner)
}
