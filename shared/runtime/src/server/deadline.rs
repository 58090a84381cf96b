//! A per-call time limit for unary RPCs only. tonic's server-wide timeout
//! would also cut long streams short: a 191,000-row import or a followed
//! change feed must be allowed to run as long as the client keeps it open.
//! A deadline the client sends (`grpc-timeout`) is honoured too: the
//! shorter of the two applies to unary calls, the client's to streams.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tonic::Status;

use crate::server::middleware::{CallFuture, Inner, Middleware, Req};

/// Applies `limit` to every call whose path is not in `streaming`.
#[derive(Debug, Clone)]
pub struct UnaryDeadlineLayer {
    limit: Duration,
    streaming: Arc<HashSet<String>>,
}

impl UnaryDeadlineLayer {
    pub fn new(limit: Duration, streaming: impl IntoIterator<Item = String>) -> Self {
        Self {
            limit,
            streaming: Arc::new(streaming.into_iter().collect()),
        }
    }
}

impl Middleware for UnaryDeadlineLayer {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, req: Req<B>) -> CallFuture<S::Error> {
        let streaming = self.streaming.contains(req.uri().path());
        let client = req
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let limit = match (streaming, client) {
            (false, Some(client)) => Some(client.min(self.limit)),
            (false, None) => Some(self.limit),
            (true, client) => client,
        };
        let call = inner.call(req);
        Box::pin(async move {
            let Some(limit) = limit else {
                return call.await;
            };
            match tokio::time::timeout(limit, call).await {
                Ok(result) => result,
                // Dropping the call's future cancels its database work too.
                Err(_) => Ok(
                    Status::deadline_exceeded(format!("call took longer than {limit:?}"))
                        .into_http(),
                ),
            }
        })
    }
}

/// `grpc-timeout` is up to 8 digits and a unit: H, M, S, m, u or n.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    // The unit must be one ASCII byte, or split_at would cut a character.
    if value.len() < 2 || value.len() > 9 || !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_and_nonsense_is_ignored() {
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        for bad in ["", "m", "12", "-1S", "1x", "123456789S", "１S", "1é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
