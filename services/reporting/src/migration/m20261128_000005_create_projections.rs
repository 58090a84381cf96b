//! The read model. One row per learner, per enrollment, per learner × program
//! × day of activity, and per catalog item: never a raw event. Every report
//! is a few indexed range aggregates over these rows (see `report/`).
//!
//! - `r_learners`: current anonymous attributes and the registration day.
//! - `r_enrollments`: the days an enrollment was created, completed and
//!   certified (NULL until then), with its course and program.
//! - `r_program_members`: the day of each learner's first enrollment in a
//!   program (a learner counts for a program from then on).
//! - `r_activity`: minutes of progress per learner, program ('' for none),
//!   course and day; active learners are distinct learners with a row in
//!   the period.
//! - `r_programs`, `r_courses`, `r_course_skills`, `r_skills`: what exists,
//!   and labels for breakdowns.

use academy_runtime::db::schema::{
    big_integer, create_indexes, create_tables, day, drop_tables, id, index, integer, optional_day,
    pair_key, table, text,
};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RLearners {
    Table,
    LearnerId,
    RegisterDay,
    Region,
    Gender,
    BirthYear,
    EmploymentStatus,
    Organization,
}

#[derive(DeriveIden)]
enum REnrollments {
    Table,
    EnrollmentId,
    LearnerId,
    CourseId,
    ProgramId,
    EnrollDay,
    CompleteDay,
    CertificateDay,
}

#[derive(DeriveIden)]
enum RProgramMembers {
    Table,
    ProgramId,
    LearnerId,
    FirstDay,
}

#[derive(DeriveIden)]
enum RActivity {
    Table,
    LearnerId,
    ProgramId,
    CourseId,
    Day,
    Minutes,
}

#[derive(DeriveIden)]
enum RPrograms {
    Table,
    ProgramId,
    Name,
}

#[derive(DeriveIden)]
enum RCourses {
    Table,
    CourseId,
    Code,
    Title,
}

#[derive(DeriveIden)]
enum RCourseSkills {
    Table,
    CourseId,
    SkillId,
}

#[derive(DeriveIden)]
enum RSkills {
    Table,
    SkillId,
    Name,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let learners = table(RLearners::Table)
            .col(id(RLearners::LearnerId).primary_key())
            .col(day(RLearners::RegisterDay))
            .col(text(RLearners::Region, 32))
            .col(text(RLearners::Gender, 16))
            .col(integer(RLearners::BirthYear))
            .col(text(RLearners::EmploymentStatus, 16))
            .col(text(RLearners::Organization, 200))
            .to_owned();
        let enrollments = table(REnrollments::Table)
            .col(id(REnrollments::EnrollmentId).primary_key())
            .col(id(REnrollments::LearnerId))
            .col(id(REnrollments::CourseId))
            .col(text(REnrollments::ProgramId, 36))
            .col(day(REnrollments::EnrollDay))
            .col(optional_day(REnrollments::CompleteDay))
            .col(optional_day(REnrollments::CertificateDay))
            .to_owned();
        let program_members = table(RProgramMembers::Table)
            .col(text(RProgramMembers::ProgramId, 36))
            .col(id(RProgramMembers::LearnerId))
            .col(day(RProgramMembers::FirstDay))
            .primary_key(&mut pair_key(
                RProgramMembers::ProgramId,
                RProgramMembers::LearnerId,
            ))
            .to_owned();
        let activity = table(RActivity::Table)
            .col(id(RActivity::LearnerId))
            .col(text(RActivity::ProgramId, 36))
            .col(id(RActivity::CourseId))
            .col(day(RActivity::Day))
            .col(big_integer(RActivity::Minutes))
            .primary_key(
                Index::create()
                    .col(RActivity::LearnerId)
                    .col(RActivity::ProgramId)
                    .col(RActivity::CourseId)
                    .col(RActivity::Day),
            )
            .to_owned();
        let courses = table(RCourses::Table)
            .col(id(RCourses::CourseId).primary_key())
            .col(text(RCourses::Code, 32))
            .col(text(RCourses::Title, 200))
            .to_owned();
        let course_skills = table(RCourseSkills::Table)
            .col(id(RCourseSkills::CourseId))
            .col(id(RCourseSkills::SkillId))
            .primary_key(&mut pair_key(
                RCourseSkills::CourseId,
                RCourseSkills::SkillId,
            ))
            .to_owned();
        let programs = table(RPrograms::Table)
            .col(id(RPrograms::ProgramId).primary_key())
            .col(text(RPrograms::Name, 200))
            .to_owned();
        let skills = table(RSkills::Table)
            .col(id(RSkills::SkillId).primary_key())
            .col(text(RSkills::Name, 100))
            .to_owned();
        create_tables(
            manager,
            [
                learners,
                enrollments,
                program_members,
                activity,
                courses,
                course_skills,
                programs,
                skills,
            ],
        )
        .await?;
        create_indexes(
            manager,
            [
                index("idx_r_learners_day", RLearners::Table, &["register_day"]),
                index(
                    "idx_r_enrollments_enroll",
                    REnrollments::Table,
                    &["enroll_day"],
                ),
                index(
                    "idx_r_enrollments_complete",
                    REnrollments::Table,
                    &["complete_day"],
                ),
                index(
                    "idx_r_enrollments_certificate",
                    REnrollments::Table,
                    &["certificate_day"],
                ),
                index(
                    "idx_r_enrollments_program",
                    REnrollments::Table,
                    &["program_id", "enroll_day"],
                ),
                index("idx_r_activity_day", RActivity::Table, &["day"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                RSkills::Table.into_iden(),
                RPrograms::Table.into_iden(),
                RCourseSkills::Table.into_iden(),
                RCourses::Table.into_iden(),
                RActivity::Table.into_iden(),
                RProgramMembers::Table.into_iden(),
                REnrollments::Table.into_iden(),
                RLearners::Table.into_iden(),
            ],
        )
        .await
    }
}
