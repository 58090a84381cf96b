//! Per-caller load shedding: at most N calls in flight per token subject,
//! beside the server-wide limit of [`crate::server::shed`], so one token (say, 512
//! idle ImportLearners streams) cannot take every slot and starve the
//! others. Runs after authentication, which names the caller; health is
//! public and never counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tonic::Status;
use tower::{Layer, Service};

use crate::auth::Caller;

#[derive(Debug, Clone)]
pub struct CallerLimitLayer {
    limit: usize,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl CallerLimitLayer {
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            in_flight: Arc::default(),
        }
    }

    /// Counts a call of `subject`, or `None` when it already has `limit`.
    fn admit(&self, subject: &str) -> Option<InFlight> {
        let mut in_flight = self.in_flight.lock().ok()?;
        let count = in_flight.entry(subject.to_owned()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(InFlight {
            subject: subject.to_owned(),
            in_flight: self.in_flight.clone(),
        })
    }
}

/// One counted call; uncounted on drop (finished or cancelled).
struct InFlight {
    subject: String,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut in_flight) = self.in_flight.lock()
            && let Some(count) = in_flight.get_mut(&self.subject)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                in_flight.remove(&self.subject);
            }
        }
    }
}

impl<S> Layer<S> for CallerLimitLayer {
    type Service = CallerLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallerLimit {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CallerLimit<S> {
    inner: S,
    layer: CallerLimitLayer,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for CallerLimit<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let Some(subject) = request
            .extensions()
            .get::<Caller>()
            .map(|caller| caller.subject.clone())
        else {
            return Box::pin(self.inner.call(request));
        };
        match self.layer.admit(&subject) {
            Some(counted) => {
                let call = self.inner.call(request);
                Box::pin(async move {
                    let response = call.await;
                    drop(counted);
                    response
                })
            }
            None => {
                let status = Status::resource_exhausted(format!(
                    "this caller has {} calls in flight, its limit; finish or cancel some first",
                    self.layer.limit
                ));
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::time::Duration;

    fn code(response: &http::Response<tonic::body::Body>) -> Option<String> {
        response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    fn request(path: &str, subject: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::builder()
            .uri(path)
            .body(())
            .expect("request");
        if let Some(subject) = subject {
            request.extensions_mut().insert(Caller {
                subject: subject.to_owned(),
                scopes: Vec::new(),
                data: Default::default(),
            });
        }
        request
    }

    #[tokio::test]
    async fn one_caller_past_its_limit_is_refused_and_the_others_are_not() {
        let inner = tower::service_fn(|req: http::Request<()>| async move {
            if req.uri().path() == "/a.S/Slow" {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
        });
        let mut service = CallerLimitLayer::new(2).layer(inner);
        let busy: Vec<_> = (0..2)
            .map(|_| tokio::spawn(service.call(request("/a.S/Slow", Some("mallory")))))
            .collect();
        let refused = service
            .call(request("/a.S/Other", Some("mallory")))
            .await
            .expect("response");
        assert_eq!(code(&refused).as_deref(), Some("8"), "RESOURCE_EXHAUSTED");
        let other = service
            .call(request("/a.S/Other", Some("alice")))
            .await
            .expect("response");
        assert_eq!(code(&other), None, "another caller is served");
        let public = service
            .call(request("/grpc.health.v1.Health/Check", None))
            .await
            .expect("response");
        assert_eq!(code(&public), None, "uncounted without a caller");
        for call in busy {
            call.abort();
            let _ = call.await;
        }
        let after = service
            .call(request("/a.S/Other", Some("mallory")))
            .await
            .expect("response");
        assert_eq!(code(&after), None, "served again once its calls ended");
    }
}
