//! ImportLearners: a client stream of registrations, committed in batches so
//! 191,000 rows never sit in memory at once. Per-row results: a bad row is
//! rejected with its index, a known learner is a duplicate, nothing aborts
//! the good rows, and re-running the same file creates nothing new.

use academy_domain::{DomainError, id};
use academy_proto::learner as pb;
use academy_runtime::db::begin_write;
use academy_runtime::idempotency;
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
    while let Some(row) = stream.message().await.map_err(stream_error)? {
        batch.push((index, row));
        index += 1;
        if batch.len() >= registry.batch_size {
            import_batch(registry, std::mem::take(&mut batch), &mut tally).await?;
        }
    }
    import_batch(registry, batch, &mut tally).await?;
    tracing::info!(
        rows = index,
        created = tally.created,
        duplicates = tally.duplicates,
        rejected = tally.rejected.len(),
        "learner import finished"
    );
    Ok(pb::ImportLearnersResponse {
        created: tally.created,
        duplicates: tally.duplicates,
        rejected: tally.rejected,
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
    request_id: Option<String>,
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
            Ok((learner, request_id)) => valid.push(Row {
                learner,
                request_id,
            }),
            Err(err) => tally.reject(index, err),
        }
    }
    tally.commit_batch(|| insert_new(registry, &valid)).await
}

/// Inserts the rows no learner matches yet, in one transaction; returns
/// (created, duplicates).
async fn insert_new(registry: &Registry, rows: &[Row]) -> Result<(i64, i64), DbErr> {
    let txn = begin_write(&registry.db).await?;
    let emails = rows
        .iter()
        .map(|r| r.learner.profile.email.as_str().to_owned())
        .collect();
    let external_ids = rows
        .iter()
        .filter_map(|r| r.learner.profile.external_id.clone())
        .collect();
    let request_ids: Vec<String> = rows.iter().filter_map(|r| r.request_id.clone()).collect();
    let mut taken: HashSet<String> = learners::taken_emails(&txn, emails)
        .await?
        .into_iter()
        .collect();
    let mut taken_external: HashSet<String> = learners::taken_external_ids(&txn, external_ids)
        .await?
        .into_iter()
        .collect();
    let mut used: HashSet<String> = idempotency::used(&txn, REGISTER, &request_ids)
        .await?
        .into_iter()
        .collect();

    let now = Utc::now();
    let (mut inserts, mut events, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    let mut duplicates = 0;
    for row in rows {
        let profile = &row.learner.profile;
        let known = row.request_id.as_ref().is_some_and(|r| used.contains(r))
            || taken.contains(profile.email.as_str())
            || profile
                .external_id
                .as_ref()
                .is_some_and(|x| taken_external.contains(x));
        if known {
            duplicates += 1;
            continue;
        }
        let id = id::new_id();
        taken.insert(profile.email.as_str().to_owned());
        if let Some(x) = &profile.external_id {
            taken_external.insert(x.clone());
        }
        if let Some(r) = &row.request_id {
            used.insert(r.clone());
            keys.push((r.clone(), id.clone()));
        }
        inserts.push(learners::new_row(&id, &row.learner, now));
        events.push((
            row.learner.register_time,
            convert::learner_registered(&id, profile),
        ));
    }
    let created = inserts.len() as i64;
    learners::insert_many(&txn, inserts).await?;
    idempotency::remember_many(&txn, REGISTER, &keys).await?;
    if !events.is_empty() {
        registry.outbox.append_many(&txn, events).await?;
    }
    txn.commit().await?;
    registry.outbox.committed();
    Ok((created, duplicates))
}
