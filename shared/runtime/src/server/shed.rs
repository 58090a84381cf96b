//! Server-wide load shedding: at most N calls in flight; the next one is
//! answered RESOURCE_EXHAUSTED at once instead of waiting in a queue that
//! grows without end. Health checks are never shed, so an overloaded
//! replica is not also restarted by its liveness probe; instead health says
//! NOT_SERVING while the replica is saturated (issue #15, item 3), so a
//! readiness probe sends new work elsewhere. Saturated means every slot is
//! taken or a call was just refused, until a tenth of the slots are free
//! again (so health does not flap with every call that ends).

use crate::server::middleware::{CallFuture, Inner, Middleware, Req, pass, pass_holding, refuse};
use std::sync::Arc;
use tokio::sync::{Semaphore, watch};
use tonic::Status;

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

impl Middleware for ShedLayer {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, req: Req<B>) -> CallFuture<S::Error> {
        if req.uri().path().starts_with("/grpc.health.v1.Health/") {
            return pass(inner, req);
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                if self.permits.available_permits() == 0 {
                    self.mark_saturated();
                }
                let slot = Slot {
                    permit: Some(permit),
                    layer: self.clone(),
                };
                pass_holding(inner, req, slot)
            }
            Err(_) => {
                self.mark_saturated();
                refuse(Status::resource_exhausted(format!(
                    "server busy: {} calls in flight; retry with backoff",
                    self.limit
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::middleware::Layered;
    use crate::server::middleware::testing::{answers_slowly_on_slow, code, request};
    use std::time::Duration;
    use tower::{Layer, Service};

    #[tokio::test]
    async fn the_call_past_the_limit_is_refused_and_health_still_answers() {
        // "/a.S/Slow" never finishes on its own; everything else answers at once.
        let inner = answers_slowly_on_slow(Duration::from_secs(3600));
        let mut service = Layered(ShedLayer::new(1)).layer(inner);
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
        let inner = answers_slowly_on_slow(Duration::from_millis(200));
        let layer = ShedLayer::new(2);
        let mut saturated = layer.saturated();
        let mut service = Layered(layer).layer(inner);
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
