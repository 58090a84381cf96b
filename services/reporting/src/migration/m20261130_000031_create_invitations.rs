//! `r_invitations` (issue #17, item 4): each program invitation's day,
//! learner (empty until known) and join day, for reach (invited, joined).

use academy_runtime::db::schema::{day, drop_table, id, index, optional_day, table, text};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RInvitations {
    Table,
    InvitationId,
    ProgramId,
    LearnerId,
    InviteDay,
    JoinDay,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let invitations = table(RInvitations::Table)
            .col(id(RInvitations::InvitationId).primary_key())
            .col(id(RInvitations::ProgramId))
            // '' while the invitee is not known to be a learner.
            .col(text(RInvitations::LearnerId, 36))
            .col(day(RInvitations::InviteDay))
            .col(optional_day(RInvitations::JoinDay))
            .to_owned();
        manager.create_table(invitations).await?;
        // A merge re-homes a duplicate's invitations by learner id.
        manager
            .create_index(index(
                "idx_r_invitations_learner",
                RInvitations::Table,
                &["learner_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, RInvitations::Table).await
    }
}
