//! Program invitations (issue #17, item 4): who was invited to which
//! program, and whether they joined.

use academy_runtime::db::schema::{
    create_indexes, id, index, instant, optional_id, optional_instant, optional_text, table, text,
    unique_index,
};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    ProgramId,
    LearnerId,
    Email,
    ExternalId,
    State,
    InviteTime,
    ExpireTime,
    JoinTime,
    DeclineTime,
    CreateTime,
    UpdateTime,
}

/// One person is invited to a program once: each key of the invitee is
/// unique within the program (NULLs, keys not given, do not collide).
const UNIQUE: &[(&str, &str)] = &[
    ("uq_invitations_program_learner", "learner_id"),
    ("uq_invitations_program_email", "email"),
    ("uq_invitations_program_external", "external_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let invitations = table(Invitations::Table)
            .col(id(Invitations::Id).primary_key())
            .col(id(Invitations::ProgramId))
            .col(optional_id(Invitations::LearnerId))
            .col(optional_text(Invitations::Email, 320))
            .col(optional_text(Invitations::ExternalId, 200))
            .col(text(Invitations::State, 16))
            .col(instant(Invitations::InviteTime))
            .col(optional_instant(Invitations::ExpireTime))
            .col(optional_instant(Invitations::JoinTime))
            .col(optional_instant(Invitations::DeclineTime))
            .col(instant(Invitations::CreateTime))
            .col(instant(Invitations::UpdateTime))
            .to_owned();
        manager.create_table(invitations).await?;
        let mut indexes: Vec<_> = UNIQUE
            .iter()
            .map(|(name, col)| unique_index(name, Invitations::Table, &["program_id", col]))
            .collect();
        // Joining looks an enrolling learner's invitations up by each key.
        indexes.extend(["learner_id", "email", "external_id"].map(|col| {
            index(
                &format!("idx_invitations_{col}"),
                Invitations::Table,
                &[col],
            )
        }));
        create_indexes(manager, indexes).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invitations::Table).to_owned())
            .await
    }
}
