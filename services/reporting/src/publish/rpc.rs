//! PublishReport, GetPublishedReport and ListPublishedReports: validation,
//! the snapshot's provenance, and the one transaction that appends it.

use academy_domain::page::PageRequest;
use academy_domain::{AllValid, DomainError, Period, id, text};
use academy_proto::reporting as pb;
use academy_runtime::db::db_error;
use academy_runtime::db::idempotency::{self, Key, WriteError};
use academy_runtime::time;
use academy_runtime::write::UnitOfWork;
use chrono::Utc;
use prost::Message;
use sea_orm::DatabaseConnection;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::{snapshot, store};
use crate::convert;
use crate::engine::Engine;

/// Longest note or restatement reason.
pub const MAX_TEXT: usize = 2000;
/// A page of snapshots ends before its encoded size passes this.
const PAGE_BUDGET: usize = 2 * 1024 * 1024;
const OPERATION: &str = "PublishReport";

/// Publishes and reads snapshots: the database they live in and the model
/// they are computed from.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub(crate) db: DatabaseConnection,
    pub(crate) engine: Engine,
    /// Snapshots found drifted at their last comparison (for the gauge).
    pub(crate) drifted: Arc<Mutex<BTreeSet<String>>>,
    /// Targets for the summary and breakdown answers.
    pub(crate) target_cache: super::target_cache::TargetCache,
}

/// A validated PublishReport.
struct Publish {
    period: Period,
    program_id: String,
    note: String,
    reason: String,
}

fn validate(req: &pb::PublishReportRequest) -> Result<(Publish, Option<String>), DomainError> {
    let (program_id, note, reason, request_id, period) = (
        convert::program_id(&req.program_id),
        text::optional("note", &req.note, MAX_TEXT),
        text::optional("reason", &req.reason, MAX_TEXT),
        idempotency::parse_request_id(&req.request_id),
        convert::period("period", req.period.as_ref()),
    )
        .all_valid()?;
    Ok((
        Publish {
            period,
            program_id: program_id.unwrap_or_default(),
            note,
            reason,
        },
        request_id,
    ))
}

impl Publisher {
    pub fn new(db: DatabaseConnection, engine: Engine) -> Self {
        Self {
            db,
            engine,
            drifted: Arc::default(),
            target_cache: Default::default(),
        }
    }

    pub async fn publish(
        &self,
        req: &pb::PublishReportRequest,
    ) -> Result<pb::PublishedReport, DomainError> {
        let (publish, request_id) = validate(req)?;
        let key = Key::new(OPERATION, request_id.as_deref(), req);
        if let Some(id) = idempotency::replayed(&self.db, key.as_ref()).await? {
            return self.read(&id).await;
        }
        // Figures of a period still running would change by themselves.
        if publish.period.end >= Utc::now().date_naive() {
            return Err(DomainError::precondition(
                "PERIOD_NOT_OVER",
                format!(
                    "the period ends on {}; publish it once it is over",
                    publish.period.end
                ),
            ));
        }
        // The targets in force now (read from the database, not the cache)
        // are frozen with the figures.
        let targets = self
            .targets(
                &publish.program_id,
                publish.period.start,
                publish.period.end,
            )
            .await?;
        let content = {
            let model = self.engine.read()?;
            snapshot::figures(&model, &publish.period, &publish.program_id, &targets)?
        };
        if snapshot::is_empty(&content) {
            return Err(DomainError::precondition(
                "PERIOD_EMPTY",
                "nothing happened in this period: no new, active, enrolled, completing or certified learner",
            ));
        }
        let uow = UnitOfWork::begin_without_feed(&self.db)
            .await
            .map_err(db_error)?;
        match append(&uow, &publish, content, key.as_ref()).await {
            Ok(report) => {
                uow.commit().await.map_err(db_error)?;
                Ok(report)
            }
            Err(err) => {
                let _ = uow.rollback().await;
                let id = idempotency::recover(&self.db, key.as_ref(), err, || {
                    DomainError::precondition(
                        "CONCURRENT_PUBLICATION",
                        "another publication of this period committed first; read it and retry",
                    )
                })
                .await?;
                self.read(&id).await
            }
        }
    }

    pub async fn get(
        &self,
        req: &pb::GetPublishedReportRequest,
    ) -> Result<pb::PublishedReport, DomainError> {
        let id = id::parse_id("id", &req.id)?;
        self.read(&id).await
    }

    async fn read(&self, id: &str) -> Result<pb::PublishedReport, DomainError> {
        store::get(&self.db, id)
            .await
            .map_err(db_error)?
            .map(|s| s.report)
            .ok_or_else(|| DomainError::not_found("published report", id))
    }

    pub async fn list(
        &self,
        req: &pb::ListPublishedReportsRequest,
    ) -> Result<pb::ListPublishedReportsResponse, DomainError> {
        let (program_id, period) = (
            convert::program_id(&req.program_id),
            req.period
                .as_ref()
                .map(|p| convert::period("period", Some(p)))
                .transpose(),
        )
            .all_valid()?;
        let filters = format!(
            "{:?}/{:?}",
            period.as_ref().map(|p| (p.start, p.end)),
            program_id
        );
        let page = PageRequest::parse(req.page_size, &req.page_token, &filters)?;
        let before = match page.after.as_deref() {
            Some(seq) => Some(
                seq.parse::<i64>()
                    .map_err(|_| DomainError::invalid("page_token", "is not a valid page token"))?,
            ),
            None => None,
        };
        let rows = store::list(
            &self.db,
            period.map(|p| (p.start, p.end)),
            program_id.as_deref(),
            before,
            page.fetch_limit(),
        )
        .await
        .map_err(db_error)?;
        let (rows, next_page_token) = page.finish_within(
            rows,
            |s| s.seq.to_string(),
            |s| s.report.encoded_len(),
            PAGE_BUDGET,
        );
        Ok(pb::ListPublishedReportsResponse {
            reports: rows.into_iter().map(|s| s.report).collect(),
            next_page_token,
        })
    }
}

/// Numbers the snapshot after the last one of its period and program,
/// fills in its provenance and appends it, with its audit entry and
/// idempotency key, in `uow`.
async fn append(
    uow: &UnitOfWork<'_>,
    publish: &Publish,
    mut content: pb::PublishedContent,
    key: Option<&Key>,
) -> Result<pb::PublishedReport, WriteError> {
    let store_key = store::Key {
        start: publish.period.start,
        end: publish.period.end,
        program_id: publish.program_id.clone(),
    };
    let txn = uow.txn();
    let latest = store::latest(txn, &store_key).await?;
    if let Some((superseded, _)) = &latest
        && publish.reason.is_empty()
    {
        return Err(DomainError::invalid(
            "reason",
            format!(
                "is required: this period was published before (snapshot {superseded}); say why it is restated"
            ),
        )
        .into());
    }
    let now = Utc::now();
    content.version = latest.as_ref().map_or(1, |(_, v)| v + 1);
    content.supersedes_id = latest.map(|(id, _)| id).unwrap_or_default();
    content.reason = if content.supersedes_id.is_empty() {
        String::new()
    } else {
        publish.reason.clone()
    };
    content.note = publish.note.clone();
    content.actor = academy_runtime::auth::call::current_actor();
    content.publish_time = Some(time::timestamp(now));
    let bytes = snapshot::encode(&content);
    let digest = snapshot::digest(&bytes);
    let id = id::new_id();
    store::insert(
        txn,
        store::NewRow {
            id: &id,
            key: &store_key,
            version: content.version,
            publish_time: now,
            digest: &digest,
            content: &bytes,
        },
    )
    .await?;
    uow.audit(OPERATION, &id).await?;
    uow.remember(OPERATION, key, &id).await?;
    Ok(pb::PublishedReport {
        id,
        digest,
        content: Some(content),
    })
}
