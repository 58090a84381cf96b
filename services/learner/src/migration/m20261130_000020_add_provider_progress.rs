//! Enrollments keep the course provider's view of them (issue #17): overall
//! percent complete (0 until reported), grade in hundredths of a point
//! (NULL until reported) and the latest business time of any progress,
//! backfilled from the module progress already recorded.

use academy_runtime::db::schema::{add_column, drop_column, integer, optional_instant};
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    PercentComplete,
    GradeCenti,
    LastActivityTime,
}

#[derive(DeriveIden)]
enum ProgressRecords {
    Table,
    EnrollmentId,
    OccurredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in [
            integer(Enrollments::PercentComplete).default(0).to_owned(),
            ColumnDef::new(Enrollments::GradeCenti)
                .integer()
                .null()
                .to_owned(),
            optional_instant(Enrollments::LastActivityTime),
        ] {
            add_column(manager, Enrollments::Table, column).await?;
        }
        let latest = Query::select()
            .expr(Expr::col((ProgressRecords::Table, ProgressRecords::OccurredAt)).max())
            .from(ProgressRecords::Table)
            .and_where(
                Expr::col((ProgressRecords::Table, ProgressRecords::EnrollmentId))
                    .equals((Enrollments::Table, Enrollments::Id)),
            )
            .to_owned();
        manager
            .exec_stmt(
                Query::update()
                    .table(Enrollments::Table)
                    .value(
                        Enrollments::LastActivityTime,
                        SimpleExpr::SubQuery(None, Box::new(latest.into_sub_query_statement())),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Enrollments::PercentComplete,
            Enrollments::GradeCenti,
            Enrollments::LastActivityTime,
        ] {
            drop_column(manager, Enrollments::Table, column).await?;
        }
        Ok(())
    }
}
