//! Program invitations (issue #17, item 4): `r_invitations`.

use academy_proto::events::{InvitationCreated, InvitationJoined, LearnerMerged};
use academy_runtime::feed::ApplyError;
use chrono::NaiveDate;
use sea_orm::DatabaseTransaction;

use super::exec;

/// A new invitation; a replayed one is kept once.
pub(super) async fn created(
    txn: &DatabaseTransaction,
    e: &InvitationCreated,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "INSERT INTO r_invitations (invitation_id, program_id, learner_id, invite_day, join_day) \
         VALUES (?, ?, ?, ?, NULL) ON CONFLICT (invitation_id) DO NOTHING",
        vec![
            e.invitation_id.as_str().into(),
            e.program_id.as_str().into(),
            e.learner_id.as_str().into(),
            day.into(),
        ],
    )
    .await?;
    Ok(())
}

/// An invitation joined: its learner is now known, and its join day set.
pub(super) async fn joined(
    txn: &DatabaseTransaction,
    e: &InvitationJoined,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "UPDATE r_invitations SET learner_id = ?, join_day = ? WHERE invitation_id = ?",
        vec![
            e.learner_id.as_str().into(),
            day.into(),
            e.invitation_id.as_str().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A merge: the folded invitations go, the duplicate's others become the
/// survivor's (the rule in `engine/merge.rs`).
pub(super) async fn merged(txn: &DatabaseTransaction, e: &LearnerMerged) -> Result<(), ApplyError> {
    for folded in &e.folded_invitation_ids {
        exec(
            txn,
            "DELETE FROM r_invitations WHERE invitation_id = ?",
            vec![folded.as_str().into()],
        )
        .await?;
    }
    if e.survivor_learner_id != e.duplicate_learner_id {
        exec(
            txn,
            "UPDATE r_invitations SET learner_id = ? WHERE learner_id = ?",
            vec![
                e.survivor_learner_id.as_str().into(),
                e.duplicate_learner_id.as_str().into(),
            ],
        )
        .await?;
    }
    Ok(())
}
