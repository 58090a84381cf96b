//! Learners, enrollments, progress records, certificates and earned skills.

use academy_runtime::db::schema::{
    big_integer, create_indexes, create_tables, drop_tables, id, index, instant, integer,
    long_text, optional_id, optional_instant, optional_text, pair_key, references, table, text,
};
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
        let learners = table(Learners::Table)
            .col(id(Learners::Id).primary_key())
            // NULL after erasure; UNIQUE allows many NULLs on both backends.
            .col(optional_text(Learners::Email, 254).unique_key())
            .col(optional_text(Learners::ExternalId, 200).unique_key())
            .col(text(Learners::FullName, 200))
            .col(text(Learners::Region, 32))
            .col(text(Learners::Gender, 16))
            .col(integer(Learners::BirthYear))
            .col(text(Learners::EmploymentStatus, 16))
            .col(text(Learners::Organization, 200))
            .col(text(Learners::State, 16))
            .col(big_integer(Learners::Revision))
            .col(instant(Learners::RegisterTime))
            .col(instant(Learners::CreateTime))
            .col(instant(Learners::UpdateTime))
            .to_owned();
        let enrollments = table(Enrollments::Table)
            .col(id(Enrollments::Id).primary_key())
            .col(id(Enrollments::LearnerId))
            .col(id(Enrollments::CourseId))
            .col(optional_id(Enrollments::ProgramId))
            .col(text(Enrollments::State, 16))
            // "learner:course" while not withdrawn, NULL after: one
            // active enrollment per pair, enforced by the database.
            .col(optional_text(Enrollments::ActiveKey, 80).unique_key())
            .col(long_text(Enrollments::ModuleIds))
            .col(long_text(Enrollments::SkillIds))
            .col(long_text(Enrollments::CompletedModuleIds))
            .col(big_integer(Enrollments::MinutesSpent))
            .col(instant(Enrollments::EnrollTime))
            .col(optional_instant(Enrollments::CompleteTime))
            .col(optional_instant(Enrollments::WithdrawTime))
            .col(instant(Enrollments::CreateTime))
            .col(instant(Enrollments::UpdateTime))
            .foreign_key(&mut references(
                Enrollments::Table,
                Enrollments::LearnerId,
                Learners::Table,
                Learners::Id,
            ))
            .to_owned();
        let progress_records = table(ProgressRecords::Table)
            .col(id(ProgressRecords::Id).primary_key())
            .col(id(ProgressRecords::EnrollmentId))
            .col(id(ProgressRecords::ModuleId))
            .col(integer(ProgressRecords::MinutesSpent))
            .col(instant(ProgressRecords::OccurredAt))
            .col(instant(ProgressRecords::CreateTime))
            .foreign_key(&mut references(
                ProgressRecords::Table,
                ProgressRecords::EnrollmentId,
                Enrollments::Table,
                Enrollments::Id,
            ))
            .to_owned();
        let certificates = table(Certificates::Table)
            .col(id(Certificates::Id).primary_key())
            .col(text(Certificates::Code, 32).unique_key())
            .col(id(Certificates::EnrollmentId).unique_key())
            .col(id(Certificates::LearnerId))
            .col(id(Certificates::CourseId))
            .col(instant(Certificates::IssueTime))
            .foreign_key(&mut references(
                Certificates::Table,
                Certificates::EnrollmentId,
                Enrollments::Table,
                Enrollments::Id,
            ))
            .to_owned();
        let earned_skills = table(EarnedSkills::Table)
            .col(id(EarnedSkills::EnrollmentId))
            .col(id(EarnedSkills::SkillId))
            .col(id(EarnedSkills::LearnerId))
            .col(instant(EarnedSkills::EarnTime))
            .primary_key(&mut pair_key(
                EarnedSkills::EnrollmentId,
                EarnedSkills::SkillId,
            ))
            .foreign_key(&mut references(
                EarnedSkills::Table,
                EarnedSkills::EnrollmentId,
                Enrollments::Table,
                Enrollments::Id,
            ))
            .to_owned();
        create_tables(
            manager,
            [
                learners,
                enrollments,
                progress_records,
                certificates,
                earned_skills,
            ],
        )
        .await?;
        create_indexes(
            manager,
            [
                index("idx_learners_region", Learners::Table, &["region"]),
                index(
                    "idx_enrollments_learner",
                    Enrollments::Table,
                    &["learner_id"],
                ),
                index("idx_enrollments_course", Enrollments::Table, &["course_id"]),
                index(
                    "idx_enrollments_program",
                    Enrollments::Table,
                    &["program_id", "learner_id"],
                ),
                index(
                    "idx_progress_enrollment",
                    ProgressRecords::Table,
                    &["enrollment_id"],
                ),
                index(
                    "idx_certificates_learner",
                    Certificates::Table,
                    &["learner_id"],
                ),
                index(
                    "idx_earned_skills_learner",
                    EarnedSkills::Table,
                    &["learner_id"],
                ),
            ],
        )
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
