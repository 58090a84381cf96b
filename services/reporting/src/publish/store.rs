//! The SQL of `r_published_report` (append-only: inserts and reads only).

use academy_proto::reporting as pb;
pub use academy_runtime::db::sql::statement;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

/// Which snapshots: the period's dates and the program ("" platform).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub program_id: String,
}

/// One stored snapshot.
#[derive(Debug, Clone)]
pub struct Stored {
    pub seq: i64,
    pub report: pb::PublishedReport,
}

/// A snapshot to append.
#[derive(Debug)]
pub struct NewRow<'a> {
    pub id: &'a str,
    pub key: &'a Key,
    pub version: i32,
    pub publish_time: DateTime<Utc>,
    pub digest: &'a str,
    pub content: &'a [u8],
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

const COLUMNS: &str = "seq, id, digest, content";

fn stored(row: &QueryResult) -> Result<Stored, DbErr> {
    let content: Vec<u8> = row.try_get("", "content")?;
    let content = pb::PublishedContent::decode(content.as_slice())
        .map_err(|e| DbErr::Custom(format!("a stored snapshot does not decode: {e}")))?;
    Ok(Stored {
        seq: row.try_get("", "seq")?,
        report: pb::PublishedReport {
            id: row.try_get("", "id")?,
            digest: row.try_get("", "digest")?,
            content: Some(content),
        },
    })
}

/// The newest version of `key`: its id and version number.
pub async fn latest<C: ConnectionTrait>(db: &C, key: &Key) -> Result<Option<(String, i32)>, DbErr> {
    let row = db
        .query_one_raw(statement(
            db,
            "SELECT id, version FROM r_published_report \
                 WHERE period_start = ? AND period_end = ? AND program_id = ? \
                 ORDER BY version DESC LIMIT 1",
            [
                Value::from(day(key.start)),
                Value::from(day(key.end)),
                Value::from(key.program_id.as_str()),
            ],
        ))
        .await?;
    row.map(|r| Ok((r.try_get("", "id")?, r.try_get("", "version")?)))
        .transpose()
}

pub async fn insert<C: ConnectionTrait>(txn: &C, row: NewRow<'_>) -> Result<(), DbErr> {
    txn.execute_raw(statement(
        txn,
        "INSERT INTO r_published_report (id, period_start, period_end, program_id, \
             version, publish_time, digest, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            Value::from(row.id),
            Value::from(day(row.key.start)),
            Value::from(day(row.key.end)),
            Value::from(row.key.program_id.as_str()),
            Value::from(row.version),
            Value::from(row.publish_time),
            Value::from(row.digest),
            Value::from(row.content.to_vec()),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Stored>, DbErr> {
    let row = db
        .query_one_raw(statement(
            db,
            &format!("SELECT {COLUMNS} FROM r_published_report WHERE id = ?"),
            [Value::from(id)],
        ))
        .await?;
    row.as_ref().map(stored).transpose()
}

/// Snapshots newest first, optionally of one period and one program,
/// published before `before_seq`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    period: Option<(NaiveDate, NaiveDate)>,
    program_id: Option<&str>,
    before_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<Stored>, DbErr> {
    let mut sql = format!("SELECT {COLUMNS} FROM r_published_report WHERE 1 = 1");
    let mut values = Vec::new();
    if let Some((start, end)) = period {
        sql.push_str(" AND period_start = ? AND period_end = ?");
        values.extend([Value::from(day(start)), Value::from(day(end))]);
    }
    if let Some(program) = program_id {
        sql.push_str(" AND program_id = ?");
        values.push(Value::from(program));
    }
    if let Some(seq) = before_seq {
        sql.push_str(" AND seq < ?");
        values.push(Value::from(seq));
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {limit}"));
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    rows.iter().map(stored).collect()
}
