//! Assertions on gRPC results.

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Asserts the call failed with `code`; returns the status for more checks.
pub fn expect_code<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, Status>,
    code: Code,
) -> Status {
    match result {
        Ok(reply) => panic!("expected {code:?}, got success: {:?}", reply.into_inner()),
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            status
        }
    }
}

/// The field paths of an INVALID_ARGUMENT's `BadRequest` details, in order.
pub fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .expect("BadRequest details")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

/// The `ErrorInfo.reason` of a status, if it has one.
pub fn error_reason(status: &Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
}
