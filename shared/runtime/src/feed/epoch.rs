//! The feed epoch (issue #20, item 9): an identity each producer database
//! gets when its outbox is created, sent on GetHead and on every event. A
//! consumer remembers the epoch beside its cursor; when the producer's
//! epoch changes, or its head goes below the cursor (a restore, a failover
//! that lost the last commits), sequence numbers the consumer already
//! applied may now name other events, so the consumer stops that feed
//! loudly instead of silently skipping them. RebuildProjections replays the
//! feed as it now is and records the new epoch.

use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use sea_orm_migration::prelude::*;

use crate::db::schema::{add_column, drop_column, drop_table, integer, optional_text, table, text};

use crate::db::sql::statement;

/// The producer's epoch, or "" when its database predates epochs.
pub async fn current<C: ConnectionTrait>(db: &C) -> Result<String, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT epoch FROM feed_epoch WHERE id = 1",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "epoch")?,
        None => String::new(),
    })
}

/// The epoch a consumer recorded for `source` ("" when none yet).
pub async fn recorded<C: ConnectionTrait>(db: &C, source: &str) -> Result<String, DbErr> {
    let row = db
        .query_one_raw(statement(
            db,
            "SELECT feed_epoch FROM feed_cursors WHERE source = ?",
            [Value::from(source)],
        ))
        .await?;
    Ok(match row {
        Some(row) => row
            .try_get::<Option<String>>("", "feed_epoch")?
            .unwrap_or_default(),
        None => String::new(),
    })
}

/// Records `epoch` for `source`, in the caller's transaction (the cursor
/// row exists: the caller stored the cursor first).
pub async fn record<C: ConnectionTrait>(txn: &C, source: &str, epoch: &str) -> Result<(), DbErr> {
    txn.execute_raw(statement(
        txn,
        "UPDATE feed_cursors SET feed_epoch = ? WHERE source = ?",
        [Value::from(epoch), Value::from(source)],
    ))
    .await?;
    Ok(())
}

/// Why a feed cannot be followed from the recorded cursor, if it cannot.
pub fn diverged(recorded: &str, producer: &str, cursor: i64, head: i64) -> Option<String> {
    if !recorded.is_empty() && !producer.is_empty() && recorded != producer {
        return Some(format!(
            "the producer's feed epoch changed from {recorded} to {producer} (restored or replaced \
             database): sequences may be reused; run RebuildProjections (FEED_EPOCH_CHANGED)"
        ));
    }
    if head < cursor {
        return Some(format!(
            "the producer's head {head} is below the applied cursor {cursor} (restore or lost \
             commits): run RebuildProjections (FEED_HEAD_REGRESSED)"
        ));
    }
    None
}

/// The producer's `feed_epoch` table, one row made when the migration runs:
/// a restored copy carries the epoch of its source, so the runbook gives a
/// restored database a new one (deploy/RUNBOOK.md, "Restore drill").
#[derive(Debug)]
pub struct CreateFeedEpoch;

#[derive(DeriveIden)]
enum FeedEpoch {
    Table,
    Id,
    Epoch,
}

impl MigrationName for CreateFeedEpoch {
    fn name(&self) -> &str {
        "m20261130_200001_create_feed_epoch"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFeedEpoch {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let epochs = table(FeedEpoch::Table)
            .col(integer(FeedEpoch::Id).primary_key())
            .col(text(FeedEpoch::Epoch, 64))
            .to_owned();
        manager.create_table(epochs).await?;
        let epoch = uuid::Uuid::new_v4().to_string();
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(FeedEpoch::Table)
                    .columns([FeedEpoch::Id, FeedEpoch::Epoch])
                    .values_panic([1.into(), epoch.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, FeedEpoch::Table).await
    }
}

/// The consumer's `feed_cursors.feed_epoch` column.
#[derive(Debug)]
pub struct AddCursorEpoch;

#[derive(DeriveIden)]
enum FeedCursors {
    Table,
    FeedEpoch,
}

impl MigrationName for AddCursorEpoch {
    fn name(&self) -> &str {
        "m20261130_200002_add_feed_cursor_epoch"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddCursorEpoch {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let epoch = optional_text(FeedCursors::FeedEpoch, 64);
        add_column(manager, FeedCursors::Table, epoch).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_column(manager, FeedCursors::Table, FeedCursors::FeedEpoch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_epoch_or_a_head_below_the_cursor_diverges() {
        assert_eq!(diverged("a", "a", 5, 9), None);
        assert_eq!(diverged("", "a", 5, 9), None, "first sight adopts");
        assert_eq!(diverged("a", "", 5, 9), None, "an old producer");
        assert!(
            diverged("a", "b", 5, 9)
                .unwrap()
                .contains("FEED_EPOCH_CHANGED")
        );
        assert!(
            diverged("a", "a", 5, 4)
                .unwrap()
                .contains("FEED_HEAD_REGRESSED")
        );
        assert_eq!(diverged("a", "a", 5, 5), None);
    }
}
