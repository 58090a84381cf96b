//! Courses remember when they were archived (issue #17), so history that
//! fell while a course was published can still be recorded into it after.
//! Courses archived before this migration take their last update time: the
//! archive was their last change, as an archived course cannot be edited.

use academy_runtime::db::schema::{add_column, drop_column, optional_instant};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Courses {
    Table,
    ArchiveTime,
    UpdateTime,
    State,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            Courses::Table,
            optional_instant(Courses::ArchiveTime),
        )
        .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Courses::Table)
                    .value(Courses::ArchiveTime, Expr::col(Courses::UpdateTime))
                    .and_where(Expr::col(Courses::State).eq("ARCHIVED"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_column(manager, Courses::Table, Courses::ArchiveTime).await
    }
}
