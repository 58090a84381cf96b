//! Per-caller load shedding: at most N calls in flight per token subject,
//! beside the server-wide limit of [`crate::server::shed`], so one token (say, 512
//! idle ImportLearners streams) cannot take every slot and starve the
//! others. Runs after authentication, which names the caller; health is
//! public and never counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tonic::Status;

use crate::auth::Caller;
use crate::server::middleware::{CallFuture, Inner, Middleware, Req, pass, pass_holding, refuse};

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

impl Middleware for CallerLimitLayer {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, req: Req<B>) -> CallFuture<S::Error> {
        let Some(subject) = req
            .extensions()
            .get::<Caller>()
            .map(|caller| caller.subject.clone())
        else {
            return pass(inner, req);
        };
        match self.admit(&subject) {
            Some(counted) => pass_holding(inner, req, counted),
            None => refuse(Status::resource_exhausted(format!(
                "this caller has {} calls in flight, its limit; finish or cancel some first",
                self.limit
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::middleware::Layered;
    use crate::server::middleware::testing::{self, code};
    use std::time::Duration;
    use tower::{Layer, Service};

    fn request(path: &str, subject: Option<&str>) -> http::Request<()> {
        let mut request = testing::request(path);
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
        let inner = testing::answers_slowly_on_slow(Duration::from_secs(3600));
        let mut service = Layered(CallerLimitLayer::new(2)).layer(inner);
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
