//! Learners, enrollments, progress records, certificates and earned skills.

use academy_runtime::db::schema::{drop_tables, id, index, instant};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Learners {
    Table,
    Id,
    Email,
    ExternalId,
    FullName,
    Region,
    Gender,
    BirthYear,
    EmploymentStatus,
    Organization,
    State,
    Revision,
    RegisterTime,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    LearnerId,
    CourseId,
    ProgramId,
    State,
    ActiveKey,
    ModuleIds,
    SkillIds,
    CompletedModuleIds,
    MinutesSpent,
    EnrollTime,
    CompleteTime,
    WithdrawTime,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum ProgressRecords {
    Table,
    Id,
    EnrollmentId,
    ModuleId,
    MinutesSpent,
    OccurredAt,
    CreateTime,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    Code,
    EnrollmentId,
    LearnerId,
    CourseId,
    IssueTime,
}

#[derive(DeriveIden)]
enum EarnedSkills {
    Table,
    EnrollmentId,
    SkillId,
    LearnerId,
    EarnTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Learners::Table)
                    .col(id(Learners::Id).primary_key())
                    // NULL after erasure; UNIQUE allows many NULLs on both backends.
                    .col(
                        ColumnDef::new(Learners::Email)
                            .string_len(254)
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Learners::ExternalId)
                            .string_len(200)
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Learners::FullName)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Learners::Region).string_len(32).not_null())
                    .col(ColumnDef::new(Learners::Gender).string_len(16).not_null())
                    .col(ColumnDef::new(Learners::BirthYear).integer().not_null())
                    .col(
                        ColumnDef::new(Learners::EmploymentStatus)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Learners::Organization)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Learners::State).string_len(16).not_null())
                    .col(ColumnDef::new(Learners::Revision).big_integer().not_null())
                    .col(instant(Learners::RegisterTime))
                    .col(instant(Learners::CreateTime))
                    .col(instant(Learners::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_learners_region", Learners::Table, &["region"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Enrollments::Table)
                    .col(id(Enrollments::Id).primary_key())
                    .col(id(Enrollments::LearnerId))
                    .col(id(Enrollments::CourseId))
                    .col(ColumnDef::new(Enrollments::ProgramId).string_len(36).null())
                    .col(ColumnDef::new(Enrollments::State).string_len(16).not_null())
                    // "learner:course" while not withdrawn, NULL after: one
                    // active enrollment per pair, enforced by the database.
                    .col(
                        ColumnDef::new(Enrollments::ActiveKey)
                            .string_len(80)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Enrollments::ModuleIds).text().not_null())
                    .col(ColumnDef::new(Enrollments::SkillIds).text().not_null())
                    .col(
                        ColumnDef::new(Enrollments::CompletedModuleIds)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Enrollments::MinutesSpent)
                            .big_integer()
                            .not_null(),
                    )
                    .col(instant(Enrollments::EnrollTime))
                    .col(
                        ColumnDef::new(Enrollments::CompleteTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Enrollments::WithdrawTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(instant(Enrollments::CreateTime))
                    .col(instant(Enrollments::UpdateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Enrollments::Table, Enrollments::LearnerId)
                            .to(Learners::Table, Learners::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_enrollments_learner", &["learner_id"][..]),
            ("idx_enrollments_course", &["course_id"][..]),
            ("idx_enrollments_program", &["program_id", "learner_id"][..]),
        ] {
            manager
                .create_index(index(name, Enrollments::Table, cols))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ProgressRecords::Table)
                    .col(id(ProgressRecords::Id).primary_key())
                    .col(id(ProgressRecords::EnrollmentId))
                    .col(id(ProgressRecords::ModuleId))
                    .col(
                        ColumnDef::new(ProgressRecords::MinutesSpent)
                            .integer()
                            .not_null(),
                    )
                    .col(instant(ProgressRecords::OccurredAt))
                    .col(instant(ProgressRecords::CreateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProgressRecords::Table, ProgressRecords::EnrollmentId)
                            .to(Enrollments::Table, Enrollments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_progress_enrollment",
                ProgressRecords::Table,
                &["enrollment_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Certificates::Table)
                    .col(id(Certificates::Id).primary_key())
                    .col(
                        ColumnDef::new(Certificates::Code)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(id(Certificates::EnrollmentId).unique_key())
                    .col(id(Certificates::LearnerId))
                    .col(id(Certificates::CourseId))
                    .col(instant(Certificates::IssueTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Certificates::Table, Certificates::EnrollmentId)
                            .to(Enrollments::Table, Enrollments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_certificates_learner",
                Certificates::Table,
                &["learner_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EarnedSkills::Table)
                    .col(id(EarnedSkills::EnrollmentId))
                    .col(id(EarnedSkills::SkillId))
                    .col(id(EarnedSkills::LearnerId))
                    .col(instant(EarnedSkills::EarnTime))
                    .primary_key(
                        Index::create()
                            .col(EarnedSkills::EnrollmentId)
                            .col(EarnedSkills::SkillId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EarnedSkills::Table, EarnedSkills::EnrollmentId)
                            .to(Enrollments::Table, Enrollments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_earned_skills_learner",
                EarnedSkills::Table,
                &["learner_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                EarnedSkills::Table.into_iden(),
                Certificates::Table.into_iden(),
                ProgressRecords::Table.into_iden(),
                Enrollments::Table.into_iden(),
                Learners::Table.into_iden(),
            ],
        )
        .await
    }
}
