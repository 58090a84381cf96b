//! The one mapping from domain errors to gRPC statuses.
//!
//! The match has no `_` arm: a new `DomainError` variant does not compile
//! until someone decides which code it gets.

use academy_domain::DomainError;
use std::collections::HashMap;
use std::time::Duration;
use tonic::{Code, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every status this system returns.
pub const ERROR_DOMAIN: &str = "academy";

/// How long a client should wait before retrying an UNAVAILABLE call.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Wraps a handler's result into what tonic expects.
pub fn respond<T>(result: Result<T, DomainError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(to_status)
}

pub fn to_status(err: DomainError) -> Status {
    let message = err.to_string();
    match err {
        DomainError::InvalidArgument { violations } => {
            let mut details = ErrorDetails::new();
            for v in violations {
                details.add_bad_request_violation(v.field, v.description);
            }
            details.set_error_info("INVALID_ARGUMENT", ERROR_DOMAIN, HashMap::new());
            Status::with_error_details(Code::InvalidArgument, message, details)
        }
        DomainError::NotFound { resource, id } => {
            let mut details = info("NOT_FOUND", [("resource", resource)]);
            details.set_resource_info(resource, id, "", "");
            Status::with_error_details(Code::NotFound, message, details)
        }
        DomainError::AlreadyExists { resource, field } => Status::with_error_details(
            Code::AlreadyExists,
            message,
            info("ALREADY_EXISTS", [("resource", resource), ("field", field)]),
        ),
        DomainError::FailedPrecondition { reason, .. } => {
            Status::with_error_details(Code::FailedPrecondition, message, info(reason, []))
        }
        DomainError::PermissionDenied { .. } => {
            Status::with_error_details(Code::PermissionDenied, message, info("SCOPE_NEEDED", []))
        }
        DomainError::Aborted { resource } => Status::with_error_details(
            Code::Aborted,
            message,
            info("ETAG_MISMATCH", [("resource", resource)]),
        ),
        DomainError::Unavailable { what } => {
            let mut details = info("UNAVAILABLE", [("dependency", what)]);
            details.set_retry_info(Some(RETRY_AFTER));
            Status::with_error_details(Code::Unavailable, message, details)
        }
        DomainError::DeadlineExceeded { .. } => {
            Status::with_error_details(Code::DeadlineExceeded, message, info("STREAM_IDLE", []))
        }
        DomainError::ResourceExhausted { .. } => {
            let mut details = info("RESOURCE_EXHAUSTED", []);
            details.set_retry_info(Some(RETRY_AFTER));
            Status::with_error_details(Code::ResourceExhausted, message, details)
        }
        DomainError::Internal { detail } => {
            // The detail may hold database text: log it, never return it.
            tracing::error!(%detail, "internal error");
            Status::internal("internal error")
        }
    }
}

fn info<const N: usize>(reason: &str, metadata: [(&str, &str); N]) -> ErrorDetails {
    let metadata: HashMap<String, String> = metadata
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use academy_domain::FieldViolation;

    #[test]
    fn invalid_argument_carries_every_field_violation() {
        let status = to_status(DomainError::from(vec![
            FieldViolation::new("course.code", "is required"),
            FieldViolation::new("course.title", "is required"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["course.code", "course.title"]);
        assert_eq!(details.error_info().unwrap().domain, ERROR_DOMAIN);
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let status = to_status(DomainError::internal("relation \"courses\" does not exist"));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn codes_follow_the_contract() {
        let cases = [
            (DomainError::not_found("course", "x"), Code::NotFound),
            (
                DomainError::AlreadyExists {
                    resource: "course",
                    field: "code",
                },
                Code::AlreadyExists,
            ),
            (
                DomainError::precondition("COURSE_NOT_DRAFT", "no"),
                Code::FailedPrecondition,
            ),
            (DomainError::Aborted { resource: "course" }, Code::Aborted),
            (
                DomainError::Unavailable { what: "database" },
                Code::Unavailable,
            ),
            (
                DomainError::ResourceExhausted {
                    message: "too many".into(),
                },
                Code::ResourceExhausted,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(to_status(err).code(), code);
        }
    }
}
