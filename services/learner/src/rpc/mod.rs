//! One module per RPC group: each function is one RPC's body — validate,
//! run the transaction (state change + outbox event), convert back.

pub mod bulk_enroll;
pub mod certificates;
pub mod duplicates;
pub mod enrollments;
pub mod import;
pub mod invitations;
pub mod keys;
pub mod learners;
pub mod merge;
pub mod progress;

use academy_domain::DomainError;
use academy_proto::learner as pb;
use academy_runtime::feed::Outbox;
use sea_orm::DatabaseConnection;

use crate::course_client::CourseClient;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub courses: CourseClient,
    /// Rows per transaction in the streaming imports.
    pub batch_size: usize,
    /// Most rows one streaming import may carry.
    pub max_stream_rows: usize,
    /// Longest wait for the next row of a client stream.
    pub stream_idle: std::time::Duration,
}

/// The next row of a client stream: `None` at its end; DEADLINE_EXCEEDED
/// when none arrives within `idle` (an idle stream would hold a call slot
/// for ever); a broken stream ends the import ([`import::stream_error`]).
pub async fn next_row<T>(
    stream: &mut tonic::Streaming<T>,
    idle: std::time::Duration,
) -> Result<Option<T>, DomainError> {
    match tokio::time::timeout(idle, stream.message()).await {
        Ok(row) => row.map_err(import::stream_error),
        Err(_) => Err(DomainError::DeadlineExceeded {
            message: format!(
                "no row arrived for {} s; the rows before were processed, send the rest in \
                 another stream",
                idle.as_secs()
            ),
        }),
    }
}

/// Refuses the row after the last one a stream may carry.
pub fn check_stream_length(index: i64, max_rows: usize) -> Result<(), DomainError> {
    if usize::try_from(index).is_ok_and(|i| i >= max_rows) {
        return Err(DomainError::ResourceExhausted {
            message: format!(
                "a stream may carry at most {max_rows} rows; the rows before this one were \
                 processed, send the rest in another stream"
            ),
        });
    }
    Ok(())
}

/// A client stream read in batches of at most `batch_size` rows, each row
/// with its index in the stream: the one loop of the streaming imports
/// (ImportLearners, SyncLearners, BulkEnroll, BulkRecordProgress).
#[derive(Debug)]
pub struct Batches<T> {
    stream: tonic::Streaming<T>,
    batch_size: usize,
    max_rows: usize,
    idle: std::time::Duration,
    next_index: i64,
    /// How the stream ended, once it has: `Ok` at its end, or why it
    /// stopped early (idle, too many rows), returned after the rows before.
    ended: Option<Result<(), DomainError>>,
}

impl<T> Batches<T> {
    pub fn new(ctx: &Context, stream: tonic::Streaming<T>) -> Self {
        Self {
            stream,
            batch_size: ctx.batch_size,
            max_rows: ctx.max_stream_rows,
            idle: ctx.stream_idle,
            next_index: 0,
            ended: None,
        }
    }

    /// How many rows were read so far.
    pub fn rows_read(&self) -> i64 {
        self.next_index
    }

    /// The next batch: full, or the last one (possibly empty) when the
    /// stream ends or stops early; then `None` at its end, or the error it
    /// stopped with, so the rows before it are kept, as the message
    /// promises. A broken stream is an error at once: the batches already
    /// applied stay, the pending rows are dropped.
    pub async fn next(&mut self) -> Result<Option<Vec<(i64, T)>>, DomainError> {
        if let Some(ended) = self.ended.take() {
            self.ended = Some(Ok(()));
            return ended.map(|()| None);
        }
        let mut rows = Vec::with_capacity(self.batch_size);
        let ended = loop {
            let row = match next_row(&mut self.stream, self.idle).await {
                Ok(Some(row)) => row,
                Ok(None) => break Ok(()),
                Err(err @ DomainError::InvalidArgument { .. }) => {
                    self.ended = Some(Ok(()));
                    return Err(err);
                }
                Err(idle) => break Err(idle),
            };
            if let Err(too_long) = check_stream_length(self.next_index, self.max_rows) {
                break Err(too_long);
            }
            rows.push((self.next_index, row));
            self.next_index += 1;
            if rows.len() >= self.batch_size {
                return Ok(Some(rows));
            }
        };
        self.ended = Some(ended);
        Ok(Some(rows))
    }
}

/// What a rejected row's answer says: the first field at fault (empty
/// when the error names none) and every reason.
pub fn field_and_reason(err: DomainError) -> (String, String) {
    match err {
        DomainError::InvalidArgument { violations } => (
            violations
                .first()
                .map(|v| v.field.clone())
                .unwrap_or_default(),
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => (String::new(), other.to_string()),
    }
}

/// Rejected rows itemised in one stream's answer; past this only counted,
/// so the answer stays far below the message size limit.
pub const MAX_REJECTED_LISTED: usize = 1000;

/// Running totals of one streaming import (learners or enrollments).
#[derive(Debug, Default)]
pub struct Tally {
    pub created: i64,
    pub duplicates: i64,
    /// The first MAX_REJECTED_LISTED rejected rows.
    pub rejected: Vec<pb::RejectedRow>,
    /// Every rejected row.
    pub rejected_count: i64,
}

impl Tally {
    pub fn reject(&mut self, index: i64, err: DomainError) {
        let (field, reason) = field_and_reason(err);
        self.rejected_count += 1;
        if self.rejected.len() < MAX_REJECTED_LISTED {
            self.rejected.push(pb::RejectedRow {
                index,
                reason,
                field,
            });
        }
    }
}

/// Rejects the rows whose request id this caller used before, or earlier
/// in the same batch, for a different request (`REQUEST_ID_REUSED`) and
/// returns the others. Replays stay: the insert counts them as duplicates.
pub async fn reject_reused<T>(
    db: &sea_orm::DatabaseConnection,
    rows: Vec<(i64, T)>,
    key: impl Fn(&T) -> Option<&academy_runtime::db::idempotency::Key>,
    tally: &mut Tally,
) -> Result<Vec<(i64, T)>, DomainError> {
    use academy_runtime::db::idempotency;
    let keys: Vec<_> = rows.iter().filter_map(|(_, row)| key(row)).collect();
    if keys.is_empty() {
        return Ok(rows);
    }
    let mut used = idempotency::used(db, &keys)
        .await
        .map_err(academy_runtime::db::db_error)?;
    let mut kept = Vec::with_capacity(rows.len());
    for (index, row) in rows {
        if key(&row).is_some_and(|k| used.insert(k) == Some(false)) {
            tally.reject(index, idempotency::reused());
        } else {
            kept.push((index, row));
        }
    }
    Ok(kept)
}

/// A batch whose insert races a concurrent writer on a unique key is
/// re-checked (the loser's rows are now duplicates) and retried this often.
const BATCH_ATTEMPTS: usize = 3;

impl Tally {
    /// Runs one batch's insert (returning created and duplicate counts),
    /// retrying on a unique-key race, and adds the counts once it commits.
    pub async fn commit_batch<F, Fut>(&mut self, mut insert: F) -> Result<(), DomainError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(i64, i64), sea_orm::DbErr>>,
    {
        let mut attempt = 1;
        loop {
            match insert().await {
                Ok((created, duplicates)) => {
                    self.created += created;
                    self.duplicates += duplicates;
                    return Ok(());
                }
                Err(err)
                    if academy_runtime::db::is_unique_violation(&err)
                        && attempt < BATCH_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(err) => return Err(academy_runtime::db::db_error(err)),
            }
        }
    }
}
