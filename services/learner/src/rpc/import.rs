//! ImportLearners: a client stream of registrations, committed in batches so
//! 191,000 rows never sit in memory at once. Per-row results: a bad row is
//! rejected with its index, a known learner is a duplicate, nothing aborts
//! the good rows, and re-running the same file creates nothing new.

use academy_domain::{DomainError, id};
use academy_proto::learner as pb;
use academy_runtime::db::begin_write;
use academy_runtime::idempotency::{self, Key};
use chrono::Utc;
use sea_orm::DbErr;
use std::collections::HashSet;
use tonic::Streaming;

use super::{Registry, Tally};
use crate::convert;
use crate::domain::NewLearner;
use crate::store::learners;

/// Request ids of imported rows share RegisterLearner's namespace, so a row
/// retried through either path is recognised.
const REGISTER: &str = "RegisterLearner";

pub async fn import(
    registry: &Registry,
    mut stream: Streaming<pb::RegisterLearnerRequest>,
) -> Result<pb::ImportLearnersResponse, DomainError> {
    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(registry.batch_size);
    let mut index = 0i64;
    loop {
        let row = match super::next_row(&mut stream, registry.stream_idle).await {
            Ok(Some(row)) => row,
            Ok(None) => break,
            // A broken stream ends the import; batches already committed stay.
            Err(err @ DomainError::InvalidArgument { .. }) => return Err(err),
            Err(err) => {
                // An idle stream: the rows before are kept, as the message promises.
                import_batch(registry, std::mem::take(&mut batch), &mut tally).await?;
                return Err(err);
            }
        };
        if let Err(too_long) = super::check_stream_length(index, registry.max_stream_rows) {
            // The rows before the limit are kept, as the message promises.
            import_batch(registry, std::mem::take(&mut batch), &mut tally).await?;
            return Err(too_long);
        }
        batch.push((index, row));
        index += 1;
        if batch.len() >= registry.batch_size {
            import_batch(registry, std::mem::take(&mut batch), &mut tally).await?;
        }
    }
    import_batch(registry, batch, &mut tally).await?;
    record_rows("ImportLearners", &tally);
    tracing::info!(
        rows = index,
        created = tally.created,
        duplicates = tally.duplicates,
        rejected = tally.rejected_count,
        "learner import finished"
    );
    Ok(pb::ImportLearnersResponse {
        created: tally.created,
        duplicates: tally.duplicates,
        rejected: tally.rejected,
        rejected_count: tally.rejected_count,
    })
}

/// A broken client stream ends the import; batches already committed stay.
pub fn stream_error(status: tonic::Status) -> DomainError {
    DomainError::invalid(
        "stream",
        format!("could not read the request stream: {}", status.message()),
    )
}

struct Row {
    learner: NewLearner,
    key: Option<Key>,
}

async fn import_batch(
    registry: &Registry,
    rows: Vec<(i64, pb::RegisterLearnerRequest)>,
    tally: &mut Tally,
) -> Result<(), DomainError> {
    let now = Utc::now();
    let mut valid = Vec::with_capacity(rows.len());
    for (index, req) in rows {
        let parsed = convert::new_learner(&req, now)
            .and_then(|learner| Ok((learner, idempotency::parse_request_id(&req.request_id)?)));
        match parsed {
            Ok((learner, request_id)) => valid.push((
                index,
                Row {
                    learner,
                    key: Key::new(REGISTER, request_id.as_deref(), &req),
                },
            )),
            Err(err) => tally.reject(index, err),
        }
    }
    let valid: Vec<Row> = super::reject_reused(&registry.db, valid, |r| r.key.as_ref(), tally)
        .await?
        .into_iter()
        .map(|(_, row)| row)
        .collect();
    tally.commit_batch(|| insert_new(registry, &valid)).await
}

/// Inserts the rows no learner matches yet, in one transaction; returns
/// (created, duplicates). Rows whose request id was used before are
/// duplicates (those used for a different request were rejected before);
/// the unique indexes on e-mail and external id decide the rest.
async fn insert_new(registry: &Registry, rows: &[Row]) -> Result<(i64, i64), DbErr> {
    let txn = begin_write(&registry.db).await?;
    let keys: Vec<&Key> = rows.iter().filter_map(|r| r.key.as_ref()).collect();
    let mut used = idempotency::used(&txn, &keys).await?;
    let now = Utc::now();
    let mut candidates = Vec::with_capacity(rows.len());
    let mut inserts = Vec::with_capacity(rows.len());
    for row in rows {
        // A request id seen before, also earlier in this batch, is a retry.
        if row.key.as_ref().is_some_and(|k| used.insert(k).is_some()) {
            continue;
        }
        let id = id::new_id();
        inserts.push(learners::new_row(&id, &row.learner, now));
        candidates.push((id, row));
    }
    let inserted: HashSet<String> = learners::insert_new(&txn, inserts)
        .await?
        .into_iter()
        .collect();
    let (mut events, mut keys) = (Vec::new(), Vec::new());
    for (id, row) in candidates.iter().filter(|(id, _)| inserted.contains(id)) {
        if let Some(key) = &row.key {
            keys.push((key.clone(), id.clone()));
        }
        events.push((
            row.learner.register_time,
            convert::learner_registered(id, &row.learner.profile),
        ));
    }
    idempotency::remember_many(&txn, REGISTER, &keys).await?;
    if !events.is_empty() {
        registry.outbox.append_many(&txn, events).await?;
    }
    txn.commit().await?;
    registry.outbox.committed();
    let created = inserted.len() as i64;
    Ok((created, rows.len() as i64 - created))
}

/// Rows of a finished streaming import, by outcome, for Prometheus.
pub fn record_rows(stream: &'static str, tally: &Tally) {
    let count = |outcome: &'static str, n: u64| {
        metrics::counter!("learner_import_rows_total", "stream" => stream, "outcome" => outcome)
            .increment(n);
    };
    count("created", tally.created.unsigned_abs());
    count("duplicate", tally.duplicates.unsigned_abs());
    count("rejected", tally.rejected_count.unsigned_abs());
}
