//! Server-wide load shedding: at most N calls in flight; the next one is
//! answered RESOURCE_EXHAUSTED at once instead of waiting in a queue that
//! grows without end. Health checks are never shed, so an overloaded
//! replica is not also restarted by its liveness probe; instead health says
//! NOT_SERVING while the replica is saturated (issue #15, item 3), so a
//! readiness probe sends new work elsewhere. Saturated means every slot is
//! taken or a call was just refused, until a tenth of the slots are free
//! again (so health does not flap with every call that ends).

use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{Semaphore, watch};
use tonic::Status;
use tower::{Layer, Service};

#[derive(Debug, Clone)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
    limit: usize,
    saturated: Arc<watch::Sender<bool>>,
}

impl ShedLayer {
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            saturated: Arc::new(watch::channel(false).0),
        }
    }

    /// Whether every slot is taken (see the module's definition).
    pub fn saturated(&self) -> watch::Receiver<bool> {
        self.saturated.subscribe()
    }

    fn mark_saturated(&self) {
        self.saturated
            .send_if_modified(|s| !std::mem::replace(s, true));
    }

    /// After a call ends: clears the mark once enough slots are free.
    fn mark_freed(&self) {
        let free = self.permits.available_permits();
        if free >= (self.limit / 10).max(1) {
            self.saturated
                .send_if_modified(|s| std::mem::replace(s, false));
        }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Shed {
            inner,
            layer: self.clone(),
        }
    }
}

/// One call's slot: freed when the call ends or is dropped (a cancelled
/// call too), which may clear the saturation mark.
struct Slot {
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    layer: ShedLayer,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.layer.mark_freed();
    }
}

#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    layer: ShedLayer,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Shed<S>
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
        if request.uri().path().starts_with("/grpc.health.v1.Health/") {
            return Box::pin(self.inner.call(request));
        }
        match self.layer.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                if self.layer.permits.available_permits() == 0 {
                    self.layer.mark_saturated();
                }
                let call = self.inner.call(request);
                let slot = Slot {
                    permit: Some(permit),
                    layer: self.layer.clone(),
                };
                Box::pin(async move {
                    let response = call.await;
                    drop(slot);
                    response
                })
            }
            Err(_) => {
                self.layer.mark_saturated();
                let status = Status::resource_exhausted(format!(
                    "server busy: {} calls in flight; retry with backoff",
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

    #[tokio::test]
    async fn the_call_past_the_limit_is_refused_and_health_still_answers() {
        // "/a.S/Slow" never finishes on its own; everything else answers at once.
        let inner = tower::service_fn(|req: http::Request<()>| async move {
            if req.uri().path() == "/a.S/Slow" {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
        });
        let mut service = ShedLayer::new(1).layer(inner);
        let request = |path: &str| {
            http::Request::builder()
                .uri(path)
                .body(())
                .expect("request")
        };
        // The permit is taken when the call is made, before it is polled.
        let busy = tokio::spawn(service.call(request("/a.S/Slow")));
        let refused = service.call(request("/a.S/Other")).await.expect("response");
        assert_eq!(code(&refused).as_deref(), Some("8"), "RESOURCE_EXHAUSTED");
        let health = service.call(request("/grpc.health.v1.Health/Check")).await;
        assert_eq!(code(&health.expect("response")), None, "health is not shed");
        busy.abort();
        let _ = busy.await;
        let after = service.call(request("/a.S/Other")).await.expect("response");
        assert_eq!(code(&after), None, "served again once the slot is free");
    }

    #[tokio::test]
    async fn saturation_is_marked_when_the_slots_run_out_and_cleared_when_one_frees() {
        let inner = tower::service_fn(|req: http::Request<()>| async move {
            if req.uri().path() == "/a.S/Slow" {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
        });
        let layer = ShedLayer::new(2);
        let mut saturated = layer.saturated();
        let mut service = layer.layer(inner);
        let request = |path: &str| {
            http::Request::builder()
                .uri(path)
                .body(())
                .expect("request")
        };
        let one = tokio::spawn(service.call(request("/a.S/Slow")));
        assert!(!*saturated.borrow_and_update(), "a slot is still free");
        let two = tokio::spawn(service.call(request("/a.S/Slow")));
        assert!(*saturated.borrow_and_update(), "the last slot taken");
        one.await.expect("join").expect("response");
        two.await.expect("join").expect("response");
        assert!(!*saturated.borrow(), "free again");
        // A call dropped before it ends (a cancelled one) frees its slot too.
        let one = tokio::spawn(service.call(request("/a.S/Slow")));
        let two = tokio::spawn(service.call(request("/a.S/Slow")));
        assert!(*saturated.borrow_and_update());
        one.abort();
        two.abort();
        let _ = (one.await, two.await);
        assert!(!*saturated.borrow(), "free after cancellation");
    }
}
