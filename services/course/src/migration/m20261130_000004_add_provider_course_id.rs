//! Courses get the provider's own id (issue #17), e.g. a Coursera slug, so
//! provider exports can name a course by it. Nullable, unique when set.

use academy_runtime::db::schema::{
    add_column, drop_column, drop_index, optional_text, unique_index,
};
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
        let provider_id = optional_text(Courses::ProviderCourseId, 200);
        add_column(manager, Courses::Table, provider_id).await?;
        // Several NULLs may coexist under a unique index in both databases.
        manager
            .create_index(unique_index(INDEX, Courses::Table, &["provider_course_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index(manager, INDEX, Courses::Table).await?;
        drop_column(manager, Courses::Table, Courses::ProviderCourseId).await
    }
}
