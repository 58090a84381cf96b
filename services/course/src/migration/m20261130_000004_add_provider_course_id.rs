//! Courses get the provider's own id (issue #17), e.g. a Coursera slug, so
//! provider exports can name a course by it. Nullable, unique when set.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Courses {
    Table,
    ProviderCourseId,
}

const INDEX: &str = "ux_courses_provider_course_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Courses::Table)
                    .add_column(
                        ColumnDef::new(Courses::ProviderCourseId)
                            .string_len(200)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Several NULLs may coexist under a unique index in both databases.
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Courses::Table)
                    .col(Courses::ProviderCourseId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Courses::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Courses::Table)
                    .drop_column(Courses::ProviderCourseId)
                    .to_owned(),
            )
            .await
    }
}
