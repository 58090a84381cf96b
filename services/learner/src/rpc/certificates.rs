//! Handlers of the RPCs about certificates: each validates its request, calls the
//! store and builds the answer (the tonic wiring is in `api.rs`).

use academy_domain::{DomainError, PageRequest, id, text};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;

use super::Context;
use crate::convert;
use crate::store::{certificates, learners};
use academy_runtime::observability::trace::TraceContext;

pub async fn list(
    ctx: &Context,
    req: pb::ListCertificatesRequest,
) -> Result<pb::ListCertificatesResponse, DomainError> {
    let learner_id = id::parse_optional_id("learner_id", &req.learner_id)?;
    let page = PageRequest::parse(
        req.page_size,
        &req.page_token,
        &format!("learner={learner_id:?}"),
    )?;
    let rows = certificates::list(&ctx.db, learner_id.as_deref(), &page)
        .await
        .map_err(db_error)?;
    let (rows, next_page_token) = page.finish(rows, |c| c.id.clone());
    Ok(pb::ListCertificatesResponse {
        certificates: rows
            .into_iter()
            .map(convert::certificate_to_proto)
            .collect(),
        next_page_token,
    })
}

/// Codes are matched case-insensitively: people type them in from paper.
/// The answer carries the learner's name and the course title only: a
/// verifier (scope `certificates.verify`) learns nothing else about the
/// learner, not even their id.
pub async fn verify(
    ctx: &Context,
    req: pb::VerifyCertificateRequest,
    trace: TraceContext,
) -> Result<pb::Certificate, DomainError> {
    let code = text::required("code", &req.code, 32)?.to_uppercase();
    let certificate = certificates::by_code(&ctx.db, &code)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("certificate", code))?;
    let learner_name = learners::get(&ctx.db, &certificate.learner_id)
        .await
        .map_err(db_error)?
        .map(|l| l.full_name)
        .unwrap_or_default();
    let course_title = ctx
        .courses
        .course_title(&certificate.course_id, &trace)
        .await?;
    // A learner's name was read: audited like any read of their record.
    academy_runtime::audit::record_reads(
        &ctx.db,
        "certificate.verified",
        std::slice::from_ref(&certificate.learner_id),
    )
    .await
    .map_err(db_error)?;
    Ok(pb::Certificate {
        learner_name,
        course_title,
        ..Default::default()
    })
}
