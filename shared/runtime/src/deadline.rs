//! A per-call time limit for unary RPCs only. tonic's server-wide timeout
//! would also cut long streams short: a 191,000-row import or a followed
//! change feed must be allowed to run as long as the client keeps it open.

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::Status;
use tower::{Layer, Service};

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

impl<S> Layer<S> for UnaryDeadlineLayer {
    type Service = UnaryDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        UnaryDeadline {
            inner,
            limit: self.limit,
            streaming: self.streaming.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct UnaryDeadline<S> {
    inner: S,
    limit: Duration,
    streaming: Arc<HashSet<String>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for UnaryDeadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let streaming = self.streaming.contains(request.uri().path());
        let limit = self.limit;
        let call = self.inner.call(request);
        Box::pin(async move {
            if streaming {
                return call.await;
            }
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
