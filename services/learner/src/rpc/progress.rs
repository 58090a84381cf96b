//! RecordProgress: one module done, minutes spent. Completing the last
//! module completes the enrollment, issues the certificate and earns the
//! course's skills, all in the same transaction as the progress itself.

use academy_domain::{DomainError, Violations, id, text};
use academy_proto::events::{
    CertificateIssued, EnrollmentCompleted, ProgressRecorded, event::Payload,
};
use academy_proto::learner as pb;
use academy_runtime::db::begin_write;
use academy_runtime::idempotency::{self, Key, WriteError};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::Registry;
use super::enrollments::load;
use super::keys::Resolver;
use crate::convert;
use crate::domain::{self, EnrollmentState, MAX_MINUTES_PER_RECORD, split_ids};
use crate::entity::{certificate, enrollment, progress_record};
use crate::store::certificates;
use crate::store::enrollments::{self, ProgressUpdate};
use academy_runtime::trace::TraceContext;

const RECORD: &str = "RecordProgress";

struct Request {
    enrollment_id: String,
    module_id: String,
    minutes: i32,
    occurred_at: DateTime<Utc>,
    key: Option<Key>,
}

fn parse(req: &pb::RecordProgressRequest, now: DateTime<Utc>) -> Result<Request, DomainError> {
    let mut v = Violations::new();
    let enrollment_id = v.check(id::parse_id("enrollment_id", &req.enrollment_id));
    let module_id = v.check(id::parse_id("module_id", &req.module_id));
    let minutes = v.check(text::in_range(
        "minutes_spent",
        req.minutes_spent,
        0,
        MAX_MINUTES_PER_RECORD,
    ));
    let occurred_at = v.check(convert::business_time(
        "occurred_at",
        req.occurred_at.as_ref(),
        now,
    ));
    let request_id = v.check(idempotency::parse_request_id(&req.request_id));
    v.finish()?;
    match (enrollment_id, module_id, minutes, occurred_at, request_id) {
        (
            Some(enrollment_id),
            Some(module_id),
            Some(minutes),
            Some(occurred_at),
            Some(request_id),
        ) => Ok(Request {
            enrollment_id,
            module_id,
            minutes,
            occurred_at,
            key: Key::new(RECORD, request_id.as_deref(), req),
        }),
        _ => Err(DomainError::internal(
            "validation passed with a missing field",
        )),
    }
}

pub async fn record(
    registry: &Registry,
    mut req: pb::RecordProgressRequest,
    trace: TraceContext,
) -> Result<pb::Enrollment, DomainError> {
    Resolver::default()
        .progress_row(registry, &mut req, &trace)
        .await?;
    let req = parse(&req, Utc::now())?;
    if idempotency::replayed(&registry.db, req.key.as_ref())
        .await?
        .is_none()
    {
        match apply(registry, &req).await {
            Ok(()) => {}
            Err(err) => {
                idempotency::recover(&registry.db, req.key.as_ref(), err, || {
                    DomainError::internal("progress conflicted without a request id")
                })
                .await?;
            }
        }
    }
    load(registry, &req.enrollment_id).await
}

async fn apply(registry: &Registry, req: &Request) -> Result<(), WriteError> {
    let txn = begin_write(&registry.db).await?;
    if let Some(events) = apply_in(&txn, req).await? {
        registry.outbox.append_many(&txn, events).await?;
        txn.commit().await?;
        registry.outbox.committed();
    }
    Ok(())
}

/// Applies one progress row in `txn`; returns its events, or `None` when
/// its request id was used before. Every check comes before any write, so a
/// refused row leaves the transaction usable for the next one.
async fn apply_in(
    txn: &DatabaseTransaction,
    req: &Request,
) -> Result<Option<Vec<(DateTime<Utc>, Payload)>>, WriteError> {
    if idempotency::replayed(txn, req.key.as_ref())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let row = enrollments::get_for_update(txn, &req.enrollment_id)
        .await?
        .ok_or_else(|| DomainError::not_found("enrollment", &req.enrollment_id))?;
    EnrollmentState::from_stored(&row.state)?.ensure_open("record progress")?;
    let modules = split_ids(&row.module_ids);
    if !modules.contains(&req.module_id) {
        return Err(DomainError::invalid(
            "module_id",
            "is not a module of this enrollment's course",
        )
        .into());
    }
    if req.occurred_at < row.enroll_time {
        return Err(DomainError::invalid(
            "occurred_at",
            "must not be before the enrollment's enroll_time",
        )
        .into());
    }
    let progress = domain::record_progress(
        &modules,
        &split_ids(&row.completed_module_ids),
        &req.module_id,
    );
    let now = Utc::now();
    let completed = progress.state == EnrollmentState::Completed;
    let update = ProgressUpdate {
        state: progress.state,
        completed_module_ids: &progress.completed,
        add_minutes: i64::from(req.minutes),
        complete_time: completed.then_some(req.occurred_at),
    };
    enrollments::apply_progress(txn, &row.id, &update, now).await?;
    enrollments::record(
        txn,
        progress_record::Model {
            id: id::new_id(),
            enrollment_id: row.id.clone(),
            module_id: req.module_id.clone(),
            minutes_spent: req.minutes,
            occurred_at: req.occurred_at,
            create_time: now,
        },
    )
    .await?;
    if let Some(key) = &req.key {
        idempotency::remember(txn, RECORD, key, &row.id).await?;
    }
    let (enrollment_id, learner_id, course_id, program_id) = convert::enrollment_keys(&row);
    let mut events = vec![(
        req.occurred_at,
        Payload::ProgressRecorded(ProgressRecorded {
            enrollment_id,
            learner_id,
            course_id,
            program_id,
            module_id: req.module_id.clone(),
            minutes_spent: req.minutes,
            module_first_completed: progress.first_completion,
            progress_percent: progress.percent,
        }),
    )];
    if completed {
        events.extend(complete(txn, &row, req.occurred_at).await?);
    }
    Ok(Some(events))
}

/// BulkRecordProgress: rows applied in batches of one transaction each.
pub async fn record_many(
    registry: &Registry,
    mut stream: tonic::Streaming<pb::RecordProgressRequest>,
    trace: TraceContext,
) -> Result<pb::BulkRecordProgressResponse, DomainError> {
    let mut tally = super::Tally::default();
    let mut resolver = Resolver::default();
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
                record_batch(
                    registry,
                    std::mem::take(&mut batch),
                    &mut tally,
                    &mut resolver,
                    &trace,
                )
                .await?;
                return Err(err);
            }
        };
        if let Err(too_long) = super::check_stream_length(index, registry.max_stream_rows) {
            // The rows before the limit are kept, as the message promises.
            record_batch(
                registry,
                std::mem::take(&mut batch),
                &mut tally,
                &mut resolver,
                &trace,
            )
            .await?;
            return Err(too_long);
        }
        batch.push((index, row));
        index += 1;
        if batch.len() >= registry.batch_size {
            record_batch(
                registry,
                std::mem::take(&mut batch),
                &mut tally,
                &mut resolver,
                &trace,
            )
            .await?;
        }
    }
    record_batch(registry, batch, &mut tally, &mut resolver, &trace).await?;
    super::import::record_rows("BulkRecordProgress", &tally);
    Ok(pb::BulkRecordProgressResponse {
        recorded: tally.created,
        duplicates: tally.duplicates,
        rejected: tally.rejected,
        rejected_count: tally.rejected_count,
    })
}

async fn record_batch(
    registry: &Registry,
    rows: Vec<(i64, pb::RecordProgressRequest)>,
    tally: &mut super::Tally,
    resolver: &mut Resolver,
    trace: &TraceContext,
) -> Result<(), DomainError> {
    if rows.is_empty() {
        return Ok(());
    }
    // External keys are resolved before the write transaction opens: no
    // call to the course service while it is held.
    let mut resolved = Vec::with_capacity(rows.len());
    for (index, mut raw) in rows {
        match resolver.progress_row(registry, &mut raw, trace).await {
            Ok(()) => resolved.push((index, Ok(raw))),
            Err(DomainError::Unavailable { what }) => {
                return Err(DomainError::Unavailable { what });
            }
            Err(err) => resolved.push((index, Err(err))),
        }
    }
    let now = Utc::now();
    let txn = begin_write(&registry.db)
        .await
        .map_err(academy_runtime::db::db_error)?;
    let (mut events, mut recorded, mut duplicates, mut rejected) = (Vec::new(), 0, 0, Vec::new());
    for (index, raw) in resolved {
        let outcome = match raw.and_then(|raw| parse(&raw, now)) {
            Ok(req) => apply_in(&txn, &req).await,
            Err(err) => Err(err.into()),
        };
        match outcome {
            Ok(Some(row_events)) => {
                recorded += 1;
                events.extend(row_events);
            }
            Ok(None) => duplicates += 1,
            Err(WriteError::Domain(err)) => rejected.push((index, err)),
            Err(err) => return Err(err.into()),
        }
    }
    registry
        .outbox
        .append_many(&txn, events)
        .await
        .map_err(academy_runtime::db::db_error)?;
    txn.commit().await.map_err(academy_runtime::db::db_error)?;
    registry.outbox.committed();
    tally.created += recorded;
    tally.duplicates += duplicates;
    for (index, err) in rejected {
        tally.reject(index, err);
    }
    Ok(())
}

/// Issues the certificate and earns the skills; returns their events.
async fn complete(
    txn: &sea_orm::DatabaseTransaction,
    row: &enrollment::Model,
    at: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, Payload)>, WriteError> {
    let skill_ids = split_ids(&row.skill_ids);
    let cert = certificate::Model {
        id: id::new_id(),
        code: domain::certificate_code(),
        enrollment_id: row.id.clone(),
        learner_id: row.learner_id.clone(),
        course_id: row.course_id.clone(),
        issue_time: at,
    };
    certificates::issue(txn, cert.clone()).await?;
    certificates::earn_skills(txn, &row.id, &row.learner_id, &skill_ids, at).await?;
    let (enrollment_id, learner_id, course_id, program_id) = convert::enrollment_keys(row);
    Ok(vec![
        (
            at,
            Payload::EnrollmentCompleted(EnrollmentCompleted {
                enrollment_id: enrollment_id.clone(),
                learner_id: learner_id.clone(),
                course_id: course_id.clone(),
                program_id: program_id.clone(),
                skill_ids,
            }),
        ),
        (
            at,
            Payload::CertificateIssued(CertificateIssued {
                certificate_id: cert.id,
                enrollment_id,
                learner_id,
                course_id,
                program_id,
            }),
        ),
    ])
}
