//! Skills, courses with ordered modules, and programs.

use academy_runtime::db::schema::{drop_tables, id, instant};
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
        manager
            .create_table(
                Table::create()
                    .table(Skills::Table)
                    .col(id(Skills::Id).primary_key())
                    .col(
                        ColumnDef::new(Skills::Name)
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Skills::Category).string_len(100).not_null())
                    .col(instant(Skills::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Courses::Table)
                    .col(id(Courses::Id).primary_key())
                    .col(
                        ColumnDef::new(Courses::Code)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Courses::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Courses::Description).text().not_null())
                    .col(ColumnDef::new(Courses::Provider).string_len(200).not_null())
                    .col(ColumnDef::new(Courses::Language).string_len(35).not_null())
                    .col(ColumnDef::new(Courses::Level).string_len(16).not_null())
                    .col(ColumnDef::new(Courses::EstimatedHours).double().not_null())
                    .col(ColumnDef::new(Courses::State).string_len(16).not_null())
                    .col(ColumnDef::new(Courses::Revision).big_integer().not_null())
                    .col(instant(Courses::CreateTime))
                    .col(instant(Courses::UpdateTime))
                    .col(
                        ColumnDef::new(Courses::PublishTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_courses_state", Courses::State),
            ("idx_courses_provider", Courses::Provider),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Courses::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CourseModules::Table)
                    .col(id(CourseModules::Id).primary_key())
                    .col(id(CourseModules::CourseId))
                    .col(ColumnDef::new(CourseModules::Position).integer().not_null())
                    .col(
                        ColumnDef::new(CourseModules::Title)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CourseModules::EstimatedMinutes)
                            .integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CourseModules::Table, CourseModules::CourseId)
                            .to(Courses::Table, Courses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_course_modules_course_position")
                    .table(CourseModules::Table)
                    .col(CourseModules::CourseId)
                    .col(CourseModules::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CourseSkills::Table)
                    .col(id(CourseSkills::CourseId))
                    .col(id(CourseSkills::SkillId))
                    .col(ColumnDef::new(CourseSkills::Position).integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(CourseSkills::CourseId)
                            .col(CourseSkills::SkillId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CourseSkills::Table, CourseSkills::CourseId)
                            .to(Courses::Table, Courses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CourseSkills::Table, CourseSkills::SkillId)
                            .to(Skills::Table, Skills::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_course_skills_skill")
                    .table(CourseSkills::Table)
                    .col(CourseSkills::SkillId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Programs::Table)
                    .col(id(Programs::Id).primary_key())
                    .col(
                        ColumnDef::new(Programs::Name)
                            .string_len(200)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Programs::Description).text().not_null())
                    .col(ColumnDef::new(Programs::StartDate).date().not_null())
                    .col(instant(Programs::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProgramCourses::Table)
                    .col(id(ProgramCourses::ProgramId))
                    .col(id(ProgramCourses::CourseId))
                    .col(instant(ProgramCourses::AddTime))
                    .primary_key(
                        Index::create()
                            .col(ProgramCourses::ProgramId)
                            .col(ProgramCourses::CourseId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProgramCourses::Table, ProgramCourses::ProgramId)
                            .to(Programs::Table, Programs::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProgramCourses::Table, ProgramCourses::CourseId)
                            .to(Courses::Table, Courses::Id),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
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
