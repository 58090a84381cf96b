//! Where a follower is in each feed it follows: one row per source, written
//! in the same transaction as the projection change an event causes, so a
//! crash can never separate "applied" from "remembered as applied".

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use sea_orm_migration::prelude::*;

use crate::db::schema::{big_integer, drop_table, optional_instant, table, text};

use crate::db::sql::statement;

/// The last sequence applied from `source` (0 before the first event).
pub async fn load<C: ConnectionTrait>(db: &C, source: &str) -> Result<i64, DbErr> {
    read(db, source, "").await
}

/// The cursor, locked until the caller's transaction ends, so two consumer
/// replicas never apply the same events (on SQLite the IMMEDIATE write
/// transaction already serialises them).
pub async fn load_for_update<C: ConnectionTrait>(txn: &C, source: &str) -> Result<i64, DbErr> {
    if txn.get_database_backend() != sea_orm::DbBackend::Postgres {
        return read(txn, source, "").await;
    }
    // A missing row cannot be locked: create it first. A concurrent insert
    // of the same source waits for ours to end, then does nothing.
    txn.execute_raw(Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "INSERT INTO feed_cursors (source, applied_sequence) VALUES ($1, 0) \
         ON CONFLICT (source) DO NOTHING",
        [Value::from(source)],
    ))
    .await?;
    read(txn, source, " FOR UPDATE").await
}

async fn read<C: ConnectionTrait>(db: &C, source: &str, lock: &str) -> Result<i64, DbErr> {
    let sql = format!("SELECT applied_sequence FROM feed_cursors WHERE source = ?{lock}");
    let row = db
        .query_one_raw(statement(db, &sql, [Value::from(source)]))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "applied_sequence")?,
        None => 0,
    })
}

/// Moves the cursor of `source` to `sequence`, in the caller's transaction.
pub async fn store<C: ConnectionTrait>(
    txn: &C,
    source: &str,
    sequence: i64,
    record_time: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    txn.execute_raw(statement(
        txn,
        "INSERT INTO feed_cursors (source, applied_sequence, applied_record_time) VALUES (?, ?, ?) \
             ON CONFLICT (source) DO UPDATE SET applied_sequence = excluded.applied_sequence, \
             applied_record_time = excluded.applied_record_time",
        [
            Value::from(source),
            Value::from(sequence),
            Value::from(record_time),
        ],
    ))
    .await?;
    Ok(())
}

/// Forgets every cursor (a rebuild replays each feed from sequence 0).
pub async fn reset<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    txn.execute_unprepared("DELETE FROM feed_cursors").await?;
    Ok(())
}

/// The `feed_cursors` table, listed by each following service among its migrations.
#[derive(Debug)]
pub struct CreateFeedCursors;

impl MigrationName for CreateFeedCursors {
    fn name(&self) -> &str {
        "m20261128_000004_create_feed_cursors"
    }
}

#[derive(DeriveIden)]
enum FeedCursors {
    Table,
    Source,
    AppliedSequence,
    AppliedRecordTime,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFeedCursors {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let cursors = table(FeedCursors::Table)
            .col(text(FeedCursors::Source, 32).primary_key())
            .col(big_integer(FeedCursors::AppliedSequence))
            .col(optional_instant(FeedCursors::AppliedRecordTime))
            .to_owned();
        manager.create_table(cursors).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, FeedCursors::Table).await
    }
}
