//! ImportLearners: a client stream of registrations, committed in batches so
//! 191,000 rows never sit in memory at once. Per-row results: a bad row is
//! rejected with its index, a known learner is a duplicate, nothing aborts
//! the good rows, and re-running the same file creates nothing new.

use academy_domain::{DomainError, id};
use academy_proto::learner as pb;
use academy_runtime::db::idempotency::{self, Key};
use academy_runtime::write::UnitOfWork;
use chrono::Utc;
use sea_orm::DbErr;
use std::collections::HashSet;
use tonic::Streaming;

use super::{Context, Tally};
use crate::convert;
use crate::domain::NewLearner;
use crate::store::learners;

/// Request ids of imported rows share RegisterLearner's namespace, so a row
/// retried through either path is recognised.
const REGISTER: &str = "RegisterLearner";

/// Per-row results listed in one stream's answer (ImportLearnersResponse.results).
pub const MAX_RESULTS_LISTED: usize = 10_000;

/// Running totals and the per-row answer of one import.
#[derive(Debug, Default)]
struct Outcomes {
    tally: Tally,
    results: Vec<pb::ImportedLearner>,
    /// Whether the caller may learn the ids of learners already there.
    reads: bool,
    mode: Mode,
    updated: i64,
}

impl Outcomes {
    fn push(&mut self, index: i64, outcome: pb::ImportOutcome, learner_id: String) {
        if self.results.len() < MAX_RESULTS_LISTED {
            self.results.push(pb::ImportedLearner {
                index,
                outcome: outcome as i32,
                learner_id,
            });
        }
    }

    fn reject(&mut self, index: i64, err: DomainError) {
        self.tally.reject(index, err);
        self.push(index, pb::ImportOutcome::Rejected, String::new());
    }

    fn record(&mut self, index: i64, result: RowResult) {
        match result {
            RowResult::Created(id) => {
                self.tally.created += 1;
                self.push(index, pb::ImportOutcome::Created, id);
            }
            RowResult::Existing(id) => {
                self.tally.duplicates += 1;
                let id = if self.reads { id } else { String::new() };
                self.push(index, pb::ImportOutcome::AlreadyExists, id);
            }
            RowResult::Updated(id) => {
                self.updated += 1;
                let id = if self.reads { id } else { String::new() };
                self.push(index, pb::ImportOutcome::Updated, id);
            }
            RowResult::Rejected(err) => self.reject(index, err),
        }
    }
}

pub async fn import(
    ctx: &Context,
    stream: Streaming<pb::RegisterLearnerRequest>,
    reads: bool,
) -> Result<pb::ImportLearnersResponse, DomainError> {
    run(ctx, stream, Mode::Import, reads).await
}

/// SyncLearners: ImportLearners that also updates learners matched by
/// external id. Changing an e-mail also needs `learners.read`, as in
/// UpdateLearner (a conflict would tell who else is registered).
pub async fn sync(
    ctx: &Context,
    stream: Streaming<pb::RegisterLearnerRequest>,
    reads: bool,
) -> Result<pb::ImportLearnersResponse, DomainError> {
    run(ctx, stream, Mode::Sync, reads).await
}

/// Whether rows matched by external id update their learner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Import,
    Sync,
}

impl Mode {
    fn stream(self) -> &'static str {
        match self {
            Self::Import => "ImportLearners",
            Self::Sync => "SyncLearners",
        }
    }
}

async fn run(
    ctx: &Context,
    stream: Streaming<pb::RegisterLearnerRequest>,
    mode: Mode,
    reads: bool,
) -> Result<pb::ImportLearnersResponse, DomainError> {
    let mut out = Outcomes {
        reads,
        mode,
        ..Outcomes::default()
    };
    let mut batches = super::Batches::new(ctx, stream);
    while let Some(rows) = batches.next().await? {
        import_batch(ctx, rows, &mut out).await?;
    }
    let (tally, updated) = (out.tally, out.updated);
    record_rows(mode.stream(), &tally);
    metrics::counter!("learner_import_rows_total", "stream" => mode.stream(), "outcome" => "updated")
        .increment(updated.unsigned_abs());
    tracing::info!(
        rows = batches.rows_read(),
        created = tally.created,
        duplicates = tally.duplicates,
        updated,
        rejected = tally.rejected_count,
        stream = mode.stream(),
        "learner import finished"
    );
    Ok(pb::ImportLearnersResponse {
        created: tally.created,
        duplicates: tally.duplicates,
        rejected: tally.rejected,
        rejected_count: tally.rejected_count,
        results: out.results,
        updated,
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
    ctx: &Context,
    rows: Vec<(i64, pb::RegisterLearnerRequest)>,
    out: &mut Outcomes,
) -> Result<(), DomainError> {
    let now = Utc::now();
    let mut valid = Vec::with_capacity(rows.len());
    let mut invalid = Vec::new();
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
            Err(err) => invalid.push((index, err)),
        }
    }
    let sent: Vec<i64> = valid.iter().map(|(index, _)| *index).collect();
    let valid =
        super::reject_reused(&ctx.db, valid, |r| r.key.as_ref(), &mut Tally::default()).await?;
    let kept: HashSet<i64> = valid.iter().map(|(index, _)| *index).collect();
    let mut results: Vec<(i64, RowResult)> = invalid
        .into_iter()
        .map(|(index, err)| (index, RowResult::Rejected(err)))
        .collect();
    // The rows reject_reused left out reused a request id.
    results.extend(
        sent.into_iter()
            .filter(|index| !kept.contains(index))
            .map(|index| (index, RowResult::Rejected(idempotency::reused()))),
    );
    results.extend(insert_with_retry(ctx, &valid, out.mode, out.reads).await?);
    results.sort_by_key(|(index, _)| *index);
    for (index, result) in results {
        out.record(index, result);
    }
    Ok(())
}

/// How one valid row ended.
#[derive(Debug, Clone, PartialEq)]
enum RowResult {
    Created(String),
    Existing(String),
    /// SyncLearners: the learner matched by external id was updated.
    Updated(String),
    /// Rejected: invalid, or conflicting with a learner already there.
    Rejected(DomainError),
}

/// A batch whose insert races a concurrent writer on a unique key is
/// retried (the loser's rows are then matched to the winner's learners).
async fn insert_with_retry(
    ctx: &Context,
    rows: &[(i64, Row)],
    mode: Mode,
    reads: bool,
) -> Result<Vec<(i64, RowResult)>, DomainError> {
    const ATTEMPTS: usize = 3;
    let mut attempt = 1;
    loop {
        match insert_new(ctx, rows, mode, reads).await {
            Ok(results) => return Ok(results),
            Err(err) if academy_runtime::db::is_unique_violation(&err) && attempt < ATTEMPTS => {
                attempt += 1;
            }
            Err(err) => return Err(academy_runtime::db::db_error(err)),
        }
    }
}

/// Inserts the rows no learner matches yet, in one transaction, and says
/// per row what happened. Rows whose request id was used before are
/// replays of that call; the unique indexes on e-mail and external id
/// decide the rest, and a row that was not inserted is matched to the
/// learner holding its keys ([`match_existing`]).
async fn insert_new(
    ctx: &Context,
    rows: &[(i64, Row)],
    mode: Mode,
    reads: bool,
) -> Result<Vec<(i64, RowResult)>, DbErr> {
    let uow = UnitOfWork::begin(&ctx.db, &ctx.outbox).await?;
    let txn = uow.txn();
    let keys: Vec<&Key> = rows.iter().filter_map(|(_, r)| r.key.as_ref()).collect();
    let mut used = uow.used(&keys).await?;
    let now = Utc::now();
    let mut candidates = Vec::with_capacity(rows.len());
    let mut replays = Vec::new();
    let mut inserts = Vec::with_capacity(rows.len());
    let mut results = Vec::with_capacity(rows.len());
    let (mut events, mut keys) = (Vec::new(), Vec::new());
    for (index, row) in rows {
        // A request id seen before, also earlier in this batch, is a retry.
        if let Some(key) = row.key.as_ref().filter(|k| used.insert(k).is_some()) {
            replays.push((*index, row, key));
            continue;
        }
        if mode == Mode::Sync
            && let Some(result) = sync_row(txn, row, reads, now, &mut events).await?
        {
            if let (RowResult::Updated(id), Some(key)) = (&result, &row.key) {
                keys.push((key.clone(), id.clone()));
            }
            results.push((*index, result));
            continue;
        }
        let id = id::new_id();
        inserts.push(learners::new_row(&id, &row.learner, now));
        candidates.push((*index, id, row));
    }
    let inserted: HashSet<String> = crate::store::insert_new(txn, inserts)
        .await?
        .into_iter()
        .collect();
    for (_, id, row) in candidates.iter().filter(|(_, id, _)| inserted.contains(id)) {
        if let Some(key) = &row.key {
            keys.push((key.clone(), id.clone()));
        }
        events.push((
            row.learner.register_time,
            convert::learner_registered(id, &row.learner.profile),
        ));
    }
    uow.remember_many(REGISTER, &keys).await?;
    if !events.is_empty() {
        uow.emit_many(events).await?;
    }
    let mut unmatched = Vec::new();
    for (index, key_row, key) in replays {
        match uow.replayed(Some(key)).await {
            Ok(Some(id)) => results.push((index, RowResult::Existing(id))),
            // The first call's key expired or its learner was erased since.
            _ => unmatched.push((index, key_row)),
        }
    }
    for (index, id, row) in &candidates {
        if inserted.contains(id) {
            results.push((*index, RowResult::Created(id.clone())));
        } else {
            unmatched.push((*index, row));
        }
    }
    results.extend(match_existing(txn, unmatched).await?);
    uow.commit().await?;
    Ok(results)
}

/// SyncLearners: updates the learner holding the row's external id to the
/// row's attributes, and says what happened; `None` when no learner holds
/// it (the row is then imported as a new learner).
async fn sync_row(
    txn: &sea_orm::DatabaseTransaction,
    row: &Row,
    reads: bool,
    now: chrono::DateTime<Utc>,
    events: &mut Vec<(chrono::DateTime<Utc>, academy_proto::events::event::Payload)>,
) -> Result<Option<RowResult>, DbErr> {
    let wanted = &row.learner.profile;
    let Some(external_id) = wanted.external_id.as_deref() else {
        return Ok(None);
    };
    let Some(id) = learners::id_by_external_id(txn, external_id).await? else {
        return Ok(None);
    };
    let Some(stored) = learners::get(txn, &id).await? else {
        return Ok(None);
    };
    let current = match convert::stored_profile(&stored) {
        Ok(profile) => profile,
        Err(err) => return Ok(Some(RowResult::Rejected(err))),
    };
    if &current == wanted {
        return Ok(Some(RowResult::Existing(id)));
    }
    if current.email != wanted.email && !reads {
        return Ok(Some(RowResult::Rejected(DomainError::PermissionDenied {
            message: "changing a learner's email also needs the `learners.read` scope".to_owned(),
        })));
    }
    if current.email != wanted.email
        && learners::id_by_email(txn, wanted.email.as_str())
            .await?
            .is_some_and(|holder| holder != id)
    {
        return Ok(Some(RowResult::Rejected(DomainError::invalid(
            "learner.email",
            "belongs to another learner already registered",
        ))));
    }
    if !learners::update_profile(txn, &id, stored.revision, wanted, now).await? {
        return Ok(Some(RowResult::Rejected(DomainError::Aborted {
            resource: "learner",
        })));
    }
    events.push((now, convert::learner_updated(&id, wanted)));
    Ok(Some(RowResult::Updated(id)))
}

/// Matches rows that were not inserted to the learners holding their keys.
async fn match_existing<C: sea_orm::ConnectionTrait>(
    db: &C,
    rows: Vec<(i64, &Row)>,
) -> Result<Vec<(i64, RowResult)>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let emails = rows
        .iter()
        .map(|(_, r)| r.learner.profile.email.as_str().to_owned())
        .collect();
    let external_ids = rows
        .iter()
        .filter_map(|(_, r)| r.learner.profile.external_id.clone())
        .collect();
    let holders = learners::holders(db, emails, external_ids).await?;
    Ok(rows
        .into_iter()
        .map(|(index, row)| {
            let profile = &row.learner.profile;
            let email = profile.email.as_str();
            let by_email = holders.iter().find(|h| h.email.as_deref() == Some(email));
            let by_external = profile
                .external_id
                .as_deref()
                .and_then(|x| holders.iter().find(|h| h.external_id.as_deref() == Some(x)));
            (
                index,
                classify(profile.external_id.is_some(), by_email, by_external),
            )
        })
        .collect())
}

/// What a row that was not inserted is: the same learner (its e-mail, and
/// its external id when it names one, belong to one learner), or a
/// conflict, rejected with the reason and never silently dropped.
fn classify(
    names_external_id: bool,
    by_email: Option<&learners::KeyHolder>,
    by_external: Option<&learners::KeyHolder>,
) -> RowResult {
    match (names_external_id, by_email, by_external) {
        (false, Some(holder), _) => RowResult::Existing(holder.id.clone()),
        (true, Some(a), Some(b)) if a.id == b.id => RowResult::Existing(a.id.clone()),
        (true, _, Some(_)) => RowResult::Rejected(DomainError::invalid(
            "learner.external_id",
            "belongs to a learner already registered with another email",
        )),
        (true, Some(_), None) => RowResult::Rejected(DomainError::invalid(
            "learner.email",
            "belongs to a learner already registered with another external_id",
        )),
        // Not inserted yet no holder: a concurrent erasure or change.
        (_, None, _) => RowResult::Rejected(DomainError::Aborted {
            resource: "learner",
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use learners::KeyHolder;

    fn holder(id: &str, email: &str, external_id: Option<&str>) -> KeyHolder {
        KeyHolder {
            id: id.to_owned(),
            email: Some(email.to_owned()),
            external_id: external_id.map(str::to_owned),
        }
    }

    fn field(result: RowResult) -> String {
        match result {
            RowResult::Rejected(DomainError::InvalidArgument { violations }) => {
                violations[0].field.clone()
            }
            other => panic!("expected a field conflict, got {other:?}"),
        }
    }

    #[test]
    fn the_answer_lists_the_first_rows_and_counts_them_all() {
        let mut out = Outcomes::default();
        let rows = MAX_RESULTS_LISTED as i64 + 5;
        for i in 0..rows {
            out.record(i, RowResult::Created(format!("id{i}")));
        }
        assert_eq!(out.results.len(), MAX_RESULTS_LISTED);
        assert_eq!(out.tally.created, rows);
        assert_eq!(
            out.results.last().map(|r| r.index),
            Some(MAX_RESULTS_LISTED as i64 - 1)
        );
        // Without `learners.read`, a learner already there has no id.
        out.record(rows, RowResult::Existing("known".into()));
        let mut fresh = Outcomes::default();
        fresh.record(0, RowResult::Existing("known".into()));
        assert_eq!(fresh.results[0].learner_id, "");
        fresh.reads = true;
        fresh.record(1, RowResult::Existing("known".into()));
        assert_eq!(fresh.results[1].learner_id, "known");
    }

    #[test]
    fn a_row_matches_only_a_learner_holding_all_its_keys() {
        let a = holder("a", "a@x.az", Some("X-1"));
        let b = holder("b", "b@x.az", None);
        assert_eq!(
            classify(true, Some(&a), Some(&a)),
            RowResult::Existing("a".into())
        );
        assert_eq!(
            classify(false, Some(&a), None),
            RowResult::Existing("a".into())
        );
        // Same external id, other email; same email, other external id.
        assert_eq!(
            field(classify(true, Some(&b), Some(&a))),
            "learner.external_id"
        );
        assert_eq!(field(classify(true, None, Some(&a))), "learner.external_id");
        assert_eq!(field(classify(true, Some(&b), None)), "learner.email");
        assert!(matches!(
            classify(false, None, None),
            RowResult::Rejected(DomainError::Aborted { .. })
        ));
    }
}
