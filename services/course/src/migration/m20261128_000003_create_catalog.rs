//! Skills, courses with ordered modules, and programs.

use academy_runtime::db::schema::{
    big_integer, create_indexes, create_tables, day, drop_tables, id, index, instant, integer,
    long_text, optional_instant, pair_key, references, table, text, unique_index,
};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Skills {
    Table,
    Id,
    Name,
    Category,
    CreateTime,
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
    Code,
    Title,
    Description,
    Provider,
    Language,
    Level,
    EstimatedHours,
    State,
    Revision,
    CreateTime,
    UpdateTime,
    PublishTime,
}

#[derive(DeriveIden)]
enum CourseModules {
    Table,
    Id,
    CourseId,
    Position,
    Title,
    EstimatedMinutes,
}

#[derive(DeriveIden)]
enum CourseSkills {
    Table,
    CourseId,
    SkillId,
    Position,
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
    Name,
    Description,
    StartDate,
    CreateTime,
}

#[derive(DeriveIden)]
enum ProgramCourses {
    Table,
    ProgramId,
    CourseId,
    AddTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let skills = table(Skills::Table)
            .col(id(Skills::Id).primary_key())
            .col(text(Skills::Name, 100).unique_key())
            .col(text(Skills::Category, 100))
            .col(instant(Skills::CreateTime))
            .to_owned();
        let courses = table(Courses::Table)
            .col(id(Courses::Id).primary_key())
            .col(text(Courses::Code, 32).unique_key())
            .col(text(Courses::Title, 200))
            .col(long_text(Courses::Description))
            .col(text(Courses::Provider, 200))
            .col(text(Courses::Language, 35))
            .col(text(Courses::Level, 16))
            .col(ColumnDef::new(Courses::EstimatedHours).double().not_null())
            .col(text(Courses::State, 16))
            .col(big_integer(Courses::Revision))
            .col(instant(Courses::CreateTime))
            .col(instant(Courses::UpdateTime))
            .col(optional_instant(Courses::PublishTime))
            .to_owned();
        let course_modules = table(CourseModules::Table)
            .col(id(CourseModules::Id).primary_key())
            .col(id(CourseModules::CourseId))
            .col(integer(CourseModules::Position))
            .col(text(CourseModules::Title, 200))
            .col(integer(CourseModules::EstimatedMinutes))
            .foreign_key(
                references(
                    CourseModules::Table,
                    CourseModules::CourseId,
                    Courses::Table,
                    Courses::Id,
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        let course_skills = table(CourseSkills::Table)
            .col(id(CourseSkills::CourseId))
            .col(id(CourseSkills::SkillId))
            .col(integer(CourseSkills::Position))
            .primary_key(&mut pair_key(CourseSkills::CourseId, CourseSkills::SkillId))
            .foreign_key(
                references(
                    CourseSkills::Table,
                    CourseSkills::CourseId,
                    Courses::Table,
                    Courses::Id,
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(&mut references(
                CourseSkills::Table,
                CourseSkills::SkillId,
                Skills::Table,
                Skills::Id,
            ))
            .to_owned();
        let programs = table(Programs::Table)
            .col(id(Programs::Id).primary_key())
            .col(text(Programs::Name, 200).unique_key())
            .col(long_text(Programs::Description))
            .col(day(Programs::StartDate))
            .col(instant(Programs::CreateTime))
            .to_owned();
        let program_courses = table(ProgramCourses::Table)
            .col(id(ProgramCourses::ProgramId))
            .col(id(ProgramCourses::CourseId))
            .col(instant(ProgramCourses::AddTime))
            .primary_key(&mut pair_key(
                ProgramCourses::ProgramId,
                ProgramCourses::CourseId,
            ))
            .foreign_key(&mut references(
                ProgramCourses::Table,
                ProgramCourses::ProgramId,
                Programs::Table,
                Programs::Id,
            ))
            .foreign_key(&mut references(
                ProgramCourses::Table,
                ProgramCourses::CourseId,
                Courses::Table,
                Courses::Id,
            ))
            .to_owned();
        create_tables(
            manager,
            [
                skills,
                courses,
                course_modules,
                course_skills,
                programs,
                program_courses,
            ],
        )
        .await?;
        create_indexes(
            manager,
            [
                index("idx_courses_state", Courses::Table, &["state"]),
                index("idx_courses_provider", Courses::Table, &["provider"]),
                unique_index(
                    "idx_course_modules_course_position",
                    CourseModules::Table,
                    &["course_id", "position"],
                ),
                index(
                    "idx_course_skills_skill",
                    CourseSkills::Table,
                    &["skill_id"],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                ProgramCourses::Table.into_iden(),
                Programs::Table.into_iden(),
                CourseSkills::Table.into_iden(),
                CourseModules::Table.into_iden(),
                Courses::Table.into_iden(),
                Skills::Table.into_iden(),
            ],
        )
        .await
    }
}
