//! Courses remember when they were archived (issue #17), so history that
//! fell while a course was published can still be recorded into it after.
//! Courses archived before this migration take their last update time: the
//! archive was their last change, as an archived course cannot be edited.

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
        manager
            .alter_table(
                Table::alter()
                    .table(Courses::Table)
                    .add_column(
                        ColumnDef::new(Courses::ArchiveTime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
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
        manager
            .alter_table(
                Table::alter()
                    .table(Courses::Table)
                    .drop_column(Courses::ArchiveTime)
                    .to_owned(),
            )
            .await
    }
}
