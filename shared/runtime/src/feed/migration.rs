//! The outbox tables. Each producing service lists [`CreateOutbox`] among its
//! own migrations, so the tables live in that service's database.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub struct CreateOutbox;

#[derive(DeriveIden)]
enum FeedHead {
    Table,
    Id,
    Sequence,
}

#[derive(DeriveIden)]
enum FeedEvents {
    Table,
    Sequence,
    EventType,
    OccurredAt,
    RecordTime,
    SubjectId,
    Payload,
}

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20261128_000001_create_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FeedHead::Table)
                    .col(
                        ColumnDef::new(FeedHead::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(FeedHead::Sequence).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(FeedHead::Table)
                    .columns([FeedHead::Id, FeedHead::Sequence])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedEvents::Table)
                    .col(
                        ColumnDef::new(FeedEvents::Sequence)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(FeedEvents::EventType)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FeedEvents::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FeedEvents::RecordTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FeedEvents::SubjectId).string_len(36).null())
                    .col(ColumnDef::new(FeedEvents::Payload).blob().not_null())
                    .to_owned(),
            )
            .await?;
        // Erasure finds a learner's events through this index.
        manager
            .create_index(
                Index::create()
                    .name("idx_feed_events_subject")
                    .table(FeedEvents::Table)
                    .col(FeedEvents::SubjectId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FeedEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(FeedHead::Table).to_owned())
            .await
    }
}
