//! Refusing calls at once while the database is known to be unreachable.
//!
//! When PostgreSQL stops answering without closing its connections (a
//! network partition, a hung host), a call holding a pooled connection
//! waits on it until the call's deadline: the reliability suite saw every
//! in-flight call of a 10 s hang end at its 8 s deadline. The health
//! watcher already knows within a few seconds that the database is gone;
//! this layer lets every call know it too and answer UNAVAILABLE (with
//! retry info) straight away, until the watcher sees the database again.
//! Health and reflection are never refused: probes must see NOT_SERVING,
//! not an error.

use academy_domain::DomainError;
use std::task::{Context, Poll};
use tokio::sync::watch;
use tower::{Layer, Service};

/// Where the health watcher publishes whether the database answers, and
/// the layer that reads it. Starts as "down": nothing but health is served
/// before the first successful ping.
pub fn database_gate() -> (watch::Sender<bool>, DatabaseGateLayer) {
    let (up, watched) = watch::channel(false);
    (up, DatabaseGateLayer { up: watched })
}

#[derive(Debug, Clone)]
pub struct DatabaseGateLayer {
    up: watch::Receiver<bool>,
}

impl<S> Layer<S> for DatabaseGateLayer {
    type Service = DatabaseGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DatabaseGate {
            inner,
            up: self.up.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseGate<S> {
    inner: S,
    up: watch::Receiver<bool>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for DatabaseGate<S>
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
        let path = request.uri().path();
        // Health and reflection (they read no data) are answered whatever
        // the database's state.
        if *self.up.borrow() || crate::auth::is_public(path) || crate::auth::is_reflection(path) {
            return Box::pin(self.inner.call(request));
        }
        let status = crate::status::to_status(DomainError::Unavailable { what: "database" });
        Box::pin(std::future::ready(Ok(status.into_http())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn code(response: &http::Response<tonic::body::Body>) -> Option<String> {
        response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    #[tokio::test]
    async fn calls_are_refused_while_the_database_is_down_and_health_still_answers() {
        let inner = tower::service_fn(|_req: http::Request<()>| async move {
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
        });
        let (up, layer) = database_gate();
        let mut service = layer.layer(inner);
        let request = |path: &str| {
            http::Request::builder()
                .uri(path)
                .body(())
                .expect("request")
        };
        let refused = service.call(request("/a.S/Call")).await.expect("response");
        assert_eq!(
            code(&refused).as_deref(),
            Some("14"),
            "UNAVAILABLE before the first ping"
        );
        let health = service.call(request("/grpc.health.v1.Health/Check")).await;
        assert_eq!(code(&health.expect("response")), None, "health is answered");
        let reflection = service
            .call(request(
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            ))
            .await;
        assert_eq!(code(&reflection.expect("response")), None, "reflection too");

        up.send_replace(true);
        let served = service.call(request("/a.S/Call")).await.expect("response");
        assert_eq!(code(&served), None, "served once the database answers");

        up.send_replace(false);
        let refused = service.call(request("/a.S/Call")).await.expect("response");
        assert_eq!(
            code(&refused).as_deref(),
            Some("14"),
            "refused again when it goes"
        );
    }
}
