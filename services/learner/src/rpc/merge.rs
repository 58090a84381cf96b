//! MergeLearners (issue #19 item 2): one person registered twice becomes
//! one learner. Everything the duplicate did moves to the survivor in one
//! transaction with one `learner.merged` event; the duplicate stays as a
//! MERGED tombstone naming the survivor (table `learner_merges`).

use academy_domain::{AllValid, DomainError, id};
use academy_proto::events::{LearnerMerged, event::Payload};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::write::UnitOfWork;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::Context;
use crate::convert;
use crate::domain::{EnrollmentState, LearnerState, join_ids, split_ids};
use crate::entity::{enrollment, learner};
use crate::store::learners;
use crate::store::merge::{self, Moved};

const MERGE: &str = "MergeLearners";

/// Longest chain of merges a read follows (A into B, B into C, ...).
const MAX_HOPS: usize = 16;

pub async fn merge(
    ctx: &Context,
    req: pb::MergeLearnersRequest,
) -> Result<pb::MergeLearnersResponse, DomainError> {
    let (survivor_id, duplicate_id, request_id) = (
        id::parse_id("survivor_id", &req.survivor_id),
        id::parse_id("duplicate_id", &req.duplicate_id),
        idempotency::parse_request_id(&req.request_id),
    )
        .all_valid()?;
    if survivor_id == duplicate_id {
        return Err(DomainError::invalid(
            "duplicate_id",
            "must differ from survivor_id (a learner cannot be merged into itself)",
        ));
    }
    // A dry run writes nothing, so it neither uses nor records the key.
    let key = if req.dry_run {
        None
    } else {
        Key::new(MERGE, request_id.as_deref(), &req)
    };
    if let Some(duplicate) = idempotency::replayed(&ctx.db, key.as_ref()).await? {
        return replay(ctx, &duplicate).await;
    }
    let moved = match write(ctx, &survivor_id, &duplicate_id, req.dry_run, key.as_ref()).await {
        Ok(Written::Moved(moved)) => moved,
        Ok(Written::Replayed(duplicate)) => return replay(ctx, &duplicate).await,
        // A concurrent call with the same key may have won (on PostgreSQL
        // this call then waited on its row locks and found the duplicate
        // MERGED): answer as it did; otherwise the error stands.
        Err(err) => {
            if let Some(duplicate) = idempotency::replayed(&ctx.db, key.as_ref()).await? {
                return replay(ctx, &duplicate).await;
            }
            let duplicate = idempotency::recover(&ctx.db, key.as_ref(), err, || {
                DomainError::precondition(
                    "LEARNER_MERGED",
                    "the duplicate was merged by a concurrent call",
                )
            })
            .await?;
            return replay(ctx, &duplicate).await;
        }
    };
    answer(ctx, &survivor_id, moved, req.dry_run).await
}

/// The answer of an earlier merge whose tombstone is `duplicate_id`.
async fn replay(
    ctx: &Context,
    duplicate_id: &str,
) -> Result<pb::MergeLearnersResponse, DomainError> {
    let (survivor_id, moved) = merge::tombstone_of(&ctx.db, duplicate_id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::internal("a remembered merge has no tombstone"))?;
    answer(ctx, &survivor_id, moved, false).await
}

async fn answer(
    ctx: &Context,
    survivor_id: &str,
    moved: Moved,
    dry_run: bool,
) -> Result<pb::MergeLearnersResponse, DomainError> {
    let row = learners::get(&ctx.db, survivor_id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("learner", survivor_id))?;
    Ok(pb::MergeLearnersResponse {
        survivor: Some(convert::learner_to_proto(row)?),
        moved_enrollment_ids: moved.moved_enrollment_ids,
        folded_enrollment_ids: moved.folded_enrollment_ids,
        moved_certificates: moved.moved_certificates,
        moved_earned_skills: moved.moved_earned_skills,
        dry_run,
    })
}

/// What the merge's transaction did.
enum Written {
    Moved(Moved),
    /// A concurrent call with the same key merged first: its tombstone.
    Replayed(String),
}

/// The merge's transaction; rolled back (dropped) on a dry run or an error.
async fn write(
    ctx: &Context,
    survivor_id: &str,
    duplicate_id: &str,
    dry_run: bool,
    key: Option<&Key>,
) -> Result<Written, WriteError> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let txn = uow.txn();
    if let Some(existing) = uow.replayed(key).await? {
        return Ok(Written::Replayed(existing));
    }
    // Locked in id order, so two merges of the same pair cannot deadlock.
    let (first, second) = if survivor_id < duplicate_id {
        (survivor_id, duplicate_id)
    } else {
        (duplicate_id, survivor_id)
    };
    let a = active(txn, first).await?;
    let b = active(txn, second).await?;
    let (survivor, duplicate) = if a.id == survivor_id { (a, b) } else { (b, a) };
    let now = Utc::now();
    let plan = plan(
        survivor_id,
        merge::enrollments_of(txn, survivor_id).await?,
        merge::enrollments_of(txn, duplicate_id).await?,
        now,
    );
    let handed: Vec<String> = plan.handed_over().collect();
    let (certificates, earned_skills) = merge::count_certificates_and_skills(txn, &handed).await?;
    let moved = Moved {
        moved_enrollment_ids: plan.moved.iter().map(|e| e.id.clone()).collect(),
        folded_enrollment_ids: plan.folds.iter().map(|(_, f)| f.clone()).collect(),
        moved_certificates: count(certificates),
        moved_earned_skills: count(earned_skills),
    };
    if dry_run {
        return Ok(Written::Moved(moved));
    }
    for e in &plan.moved {
        merge::move_enrollment(txn, e, survivor_id, now).await?;
    }
    for (kept, folded) in &plan.folds {
        merge::fold_enrollment(txn, kept, folded).await?;
    }
    let folded_invitation_ids = super::invitations::merge(txn, &survivor, &duplicate, now).await?;
    merge::tombstone(txn, &duplicate, &survivor, &moved, now).await?;
    uow.remember(MERGE, key, duplicate_id).await?;
    let event = Payload::LearnerMerged(LearnerMerged {
        survivor_learner_id: survivor_id.to_owned(),
        duplicate_learner_id: duplicate_id.to_owned(),
        moved_enrollment_ids: moved.moved_enrollment_ids.clone(),
        folded_enrollment_ids: moved.folded_enrollment_ids.clone(),
        folded_into_enrollment_ids: plan.folds.iter().map(|(k, _)| k.id.clone()).collect(),
        folded_invitation_ids,
    });
    uow.emit(now, event).await?;
    uow.commit().await?;
    Ok(Written::Moved(moved))
}

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The learner `id`, locked; NOT_FOUND, or FAILED_PRECONDITION unless ACTIVE.
async fn active<C: ConnectionTrait>(txn: &C, id: &str) -> Result<learner::Model, WriteError> {
    let row = merge::lock(txn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("learner", id))?;
    LearnerState::from_stored(&row.state)?.ensure_active()?;
    Ok(row)
}

/// What a merge does to the enrollments.
#[derive(Debug, Default)]
pub struct Plan {
    /// The duplicate's enrollments handed over unchanged.
    pub moved: Vec<enrollment::Model>,
    /// (kept enrollment as it will be, id of the enrollment folded into it).
    pub folds: Vec<(enrollment::Model, String)>,
    duplicate_kept: Vec<String>,
}

impl Plan {
    /// The duplicate's enrollments that end up with the survivor.
    fn handed_over(&self) -> impl Iterator<Item = String> + '_ {
        self.moved
            .iter()
            .map(|e| e.id.clone())
            .chain(self.duplicate_kept.iter().cloned())
    }
}

/// Pairs the duplicate's open enrollments with the survivor's open ones in
/// the same course (the unique active key allows one each) and folds them;
/// everything else moves as it is.
pub fn plan(
    survivor_id: &str,
    survivor: Vec<enrollment::Model>,
    duplicate: Vec<enrollment::Model>,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::default();
    for d in duplicate {
        let twin = d.active_key.as_ref().and_then(|_| {
            survivor
                .iter()
                .find(|s| s.active_key.is_some() && s.course_id == d.course_id)
        });
        match twin {
            Some(s) => {
                let (kept, other) = if further(&d, s) {
                    (d, s.clone())
                } else {
                    (s.clone(), d)
                };
                if kept.learner_id != survivor_id {
                    plan.duplicate_kept.push(kept.id.clone());
                }
                let folded_id = other.id.clone();
                plan.folds
                    .push((fold(survivor_id, kept, &other, now), folded_id));
            }
            None => plan.moved.push(d),
        }
    }
    plan
}

/// True when `a` is further along than `b`: completed beats open (the
/// earlier completion beats the later), then more modules done, then the
/// higher provider percent, then the earlier enrollment; a tie keeps `b` (the survivor's).
fn further(a: &enrollment::Model, b: &enrollment::Model) -> bool {
    let rank = |e: &enrollment::Model| {
        (
            e.complete_time.is_none(),
            e.complete_time,
            std::cmp::Reverse(split_ids(&e.completed_module_ids).len()),
            std::cmp::Reverse(e.percent_complete),
            e.enroll_time,
        )
    };
    rank(a) < rank(b)
}

/// `kept` with `other`'s progress added: module completions (of modules
/// the kept enrollment has), minutes; its completion stays (kept completed
/// first if either did). Held by the survivor.
fn fold(
    survivor_id: &str,
    mut kept: enrollment::Model,
    other: &enrollment::Model,
    now: DateTime<Utc>,
) -> enrollment::Model {
    let modules = split_ids(&kept.module_ids);
    let mut completed = split_ids(&kept.completed_module_ids);
    for m in split_ids(&other.completed_module_ids) {
        if modules.contains(&m) && !completed.contains(&m) {
            completed.push(m);
        }
    }
    if kept.complete_time.is_none() && !completed.is_empty() {
        kept.state = EnrollmentState::InProgress.as_str().to_owned();
    }
    kept.completed_module_ids = join_ids(&completed);
    kept.minutes_spent += other.minutes_spent;
    // Provider progress: the highest percent, the kept grade (else the
    // other's), the latest activity; the completion is the kept one's,
    // which is the earlier (see `further`).
    kept.percent_complete = kept.percent_complete.max(other.percent_complete);
    kept.grade_centi = kept.grade_centi.or(other.grade_centi);
    kept.last_activity_time = kept.last_activity_time.max(other.last_activity_time);
    kept.learner_id = survivor_id.to_owned();
    kept.active_key = Some(format!("{survivor_id}:{}", kept.course_id));
    kept.update_time = now;
    kept
}

/// The learner a read of `id` answers: `id` itself, or for a MERGED learner
/// the survivor at the end of its merges.
pub async fn resolve<C: ConnectionTrait>(db: &C, id: &str) -> Result<String, DomainError> {
    let mut current = id.to_owned();
    for _ in 0..MAX_HOPS {
        match merge::survivor_of(db, &current).await.map_err(db_error)? {
            Some(next) => current = next,
            None => return Ok(current),
        }
    }
    Err(DomainError::internal("merge chain too long"))
}

/// Every learner merged into `id`, directly or through other merges: what
/// erasing `id` also erases.
pub async fn absorbed<C: ConnectionTrait>(db: &C, id: &str) -> Result<Vec<String>, sea_orm::DbErr> {
    let mut found = Vec::new();
    let mut queue = vec![id.to_owned()];
    while let Some(next) = queue.pop() {
        for a in merge::absorbed_by(db, &next).await? {
            if !found.contains(&a) && a != id {
                found.push(a.clone());
                queue.push(a);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn enrollment(
        id: &str,
        learner: &str,
        done: &str,
        completed: Option<u32>,
    ) -> enrollment::Model {
        enrollment::Model {
            id: id.into(),
            learner_id: learner.into(),
            course_id: "c".into(),
            program_id: None,
            state: if completed.is_some() {
                "COMPLETED"
            } else {
                "IN_PROGRESS"
            }
            .into(),
            active_key: Some(format!("{learner}:c")),
            module_ids: "m1,m2,m3".into(),
            skill_ids: String::new(),
            completed_module_ids: done.into(),
            minutes_spent: 10,
            enroll_time: at(1),
            complete_time: completed.map(at),
            withdraw_time: None,
            percent_complete: 0,
            grade_centi: None,
            last_activity_time: None,
            create_time: at(1),
            update_time: at(1),
        }
    }

    #[test]
    fn provider_progress_folds_to_the_highest_and_latest() {
        let mut s = enrollment("es", "S", "", None);
        s.percent_complete = 40;
        s.last_activity_time = Some(at(7));
        let mut d = enrollment("ed", "D", "", None);
        d.percent_complete = 70;
        d.grade_centi = Some(8_550);
        d.last_activity_time = Some(at(3));
        let plan = plan("S", vec![s], vec![d], at(10));
        let (kept, folded) = &plan.folds[0];
        // The duplicate's enrollment is further along (higher percent).
        assert_eq!((kept.id.as_str(), folded.as_str()), ("ed", "es"));
        assert_eq!(kept.percent_complete, 70);
        assert_eq!(kept.grade_centi, Some(8_550));
        assert_eq!(kept.last_activity_time, Some(at(7)));
    }

    #[test]
    fn the_further_enrollment_is_kept_and_absorbs_the_other() {
        let s = enrollment("es", "S", "m1", None);
        let d = enrollment("ed", "D", "m2,m1", None);
        let plan = plan("S", vec![s], vec![d], at(5));
        assert!(plan.moved.is_empty());
        let (kept, folded) = &plan.folds[0];
        assert_eq!((kept.id.as_str(), folded.as_str()), ("ed", "es"));
        assert_eq!(kept.completed_module_ids, "m2,m1");
        assert_eq!(kept.minutes_spent, 20);
        assert_eq!(kept.learner_id, "S");
        assert_eq!(kept.active_key.as_deref(), Some("S:c"));
        assert_eq!(plan.duplicate_kept, ["ed"]);
    }

    #[test]
    fn the_earliest_completion_wins() {
        let s = enrollment("es", "S", "m1,m2,m3", Some(9));
        let d = enrollment("ed", "D", "m1,m2,m3", Some(4));
        let plan = plan("S", vec![s], vec![d], at(10));
        let (kept, folded) = &plan.folds[0];
        assert_eq!((kept.id.as_str(), folded.as_str()), ("ed", "es"));
        assert_eq!(kept.complete_time, Some(at(4)));
    }

    #[test]
    fn withdrawn_and_other_courses_move_unchanged() {
        let s = enrollment("es", "S", "m1", None);
        let mut d = enrollment("ed", "D", "m2", None);
        d.active_key = None;
        let plan = plan("S", vec![s], vec![d], at(5));
        assert!(plan.folds.is_empty());
        assert_eq!(plan.moved[0].id, "ed");
    }
}
