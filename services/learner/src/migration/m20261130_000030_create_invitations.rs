//! Program invitations (issue #17, item 4): who was invited to which
//! program, and whether they joined.

use academy_runtime::db::schema::{id, index, instant};
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
        let optional_instant = |col: Invitations| {
            ColumnDef::new(col)
                .timestamp_with_time_zone()
                .null()
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(id(Invitations::Id).primary_key())
                    .col(id(Invitations::ProgramId))
                    .col(ColumnDef::new(Invitations::LearnerId).string_len(36).null())
                    .col(ColumnDef::new(Invitations::Email).string_len(320).null())
                    .col(
                        ColumnDef::new(Invitations::ExternalId)
                            .string_len(200)
                            .null(),
                    )
                    .col(ColumnDef::new(Invitations::State).string_len(16).not_null())
                    .col(instant(Invitations::InviteTime))
                    .col(optional_instant(Invitations::ExpireTime))
                    .col(optional_instant(Invitations::JoinTime))
                    .col(optional_instant(Invitations::DeclineTime))
                    .col(instant(Invitations::CreateTime))
                    .col(instant(Invitations::UpdateTime))
                    .to_owned(),
            )
            .await?;
        for (name, col) in UNIQUE {
            manager
                .create_index(
                    index(name, Invitations::Table, &["program_id", col])
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        // Joining looks an enrolling learner's invitations up by each key.
        for col in ["learner_id", "email", "external_id"] {
            manager
                .create_index(index(
                    &format!("idx_invitations_{col}"),
                    Invitations::Table,
                    &[col],
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invitations::Table).to_owned())
            .await
    }
}
