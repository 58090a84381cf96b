//! Precise codes for requests tonic refuses before a handler runs. tonic
//! answers a request that is not valid protobuf (or has a string that is
//! not UTF-8, or no message at all) with INTERNAL, and one over the size
//! limit with OUT_OF_RANGE; both are the caller's doing: INVALID_ARGUMENT
//! and RESOURCE_EXHAUSTED, with the `ErrorInfo` every other refusal has.
//! Only those answers are rewritten, and only when they carry the status
//! in their headers (tonic's trailers-only answer to a bad request).

use academy_domain::DomainError;
use tonic::{Code, Status};

use crate::server::middleware::{CallFuture, Inner, Middleware, Req};

/// The refusal `status` stands for, when tonic made it for a bad request.
fn corrected(status: &Status) -> Option<Status> {
    let message = status.message();
    let err = match status.code() {
        Code::Internal
            if message.starts_with("failed to decode Protobuf message")
                || message == "Missing request message." =>
        {
            let reason: String = message.chars().take(300).collect();
            DomainError::invalid(
                "request",
                format!("is not a valid request message of this method ({reason})"),
            )
        }
        Code::OutOfRange if message.contains("decoded message length too large") => {
            DomainError::ResourceExhausted {
                message: format!(
                    "request message too large: {}",
                    message.trim_start_matches("Error, ")
                ),
            }
        }
        _ => return None,
    };
    Some(crate::status::to_status(err))
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PreciseCodesLayer;

impl Middleware for PreciseCodesLayer {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, req: Req<B>) -> CallFuture<S::Error> {
        let call = inner.call(req);
        Box::pin(async move {
            let response = call.await?;
            let better = Status::from_header_map(response.headers())
                .as_ref()
                .and_then(corrected);
            Ok(match better {
                Some(status) => status.into_http(),
                None => response,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tonics_own_refusals_of_bad_requests_are_rewritten() {
        let decode = Status::internal(
            "failed to decode Protobuf message: GetLearnerRequest.id: invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(
            corrected(&decode).map(|s| s.code()),
            Some(Code::InvalidArgument)
        );
        let missing = Status::internal("Missing request message.");
        assert_eq!(
            corrected(&missing).map(|s| s.code()),
            Some(Code::InvalidArgument)
        );
        let big = Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
        let big = corrected(&big).expect("rewritten");
        assert_eq!(big.code(), Code::ResourceExhausted);
        assert!(big.message().contains("4194304"), "{}", big.message());
        for untouched in [
            Status::internal("internal error"),
            Status::out_of_range("page past the end"),
            Status::invalid_argument("x"),
        ] {
            assert!(corrected(&untouched).is_none(), "{untouched:?}");
        }
    }
}
