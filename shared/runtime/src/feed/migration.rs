//! The outbox tables. Each producing service lists [`CreateOutbox`] among its
//! own migrations, so the tables live in that service's database.

use sea_orm_migration::prelude::*;

use crate::db::schema::{
    big_integer, blob, drop_table, index, instant, integer, optional_id, table, text,
};

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
        let head = table(FeedHead::Table)
            .col(integer(FeedHead::Id).primary_key())
            .col(big_integer(FeedHead::Sequence))
            .to_owned();
        manager.create_table(head).await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(FeedHead::Table)
                    .columns([FeedHead::Id, FeedHead::Sequence])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        let events = table(FeedEvents::Table)
            .col(big_integer(FeedEvents::Sequence).primary_key())
            .col(text(FeedEvents::EventType, 64))
            .col(instant(FeedEvents::OccurredAt))
            .col(instant(FeedEvents::RecordTime))
            .col(optional_id(FeedEvents::SubjectId))
            .col(blob(FeedEvents::Payload))
            .to_owned();
        manager.create_table(events).await?;
        // Erasure finds a learner's events through this index.
        manager
            .create_index(index(
                "idx_feed_events_subject",
                FeedEvents::Table,
                &["subject_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, FeedEvents::Table).await?;
        drop_table(manager, FeedHead::Table).await
    }
}
