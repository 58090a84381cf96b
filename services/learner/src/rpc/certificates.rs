use academy_domain::{DomainError, PageRequest, id, text};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;

use super::Registry;
use crate::convert;
use crate::store::certificates;

pub async fn list(
    registry: &Registry,
    req: pb::ListCertificatesRequest,
) -> Result<pb::ListCertificatesResponse, DomainError> {
    let learner_id = id::parse_optional_id("learner_id", &req.learner_id)?;
    let page = PageRequest::parse(
        req.page_size,
        &req.page_token,
        &format!("learner={learner_id:?}"),
    )?;
    let rows = certificates::list(&registry.db, learner_id.as_deref(), &page)
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
pub async fn verify(
    registry: &Registry,
    req: pb::VerifyCertificateRequest,
) -> Result<pb::Certificate, DomainError> {
    let code = text::required("code", &req.code, 32)?.to_uppercase();
    certificates::by_code(&registry.db, &code)
        .await
        .map_err(db_error)?
        .map(convert::certificate_to_proto)
        .ok_or_else(|| DomainError::not_found("certificate", code))
}
