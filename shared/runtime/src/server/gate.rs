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
use tokio::sync::watch;

use crate::server::middleware::{CallFuture, Inner, Middleware, Req, pass, refuse};

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

impl Middleware for DatabaseGateLayer {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, req: Req<B>) -> CallFuture<S::Error> {
        let path = req.uri().path();
        // Health and reflection (they read no data) are answered whatever
        // the database's state.
        if *self.up.borrow() || crate::auth::is_public(path) || crate::auth::is_reflection(path) {
            return pass(inner, req);
        }
        refuse(crate::status::to_status(DomainError::Unavailable {
            what: "database",
        }))
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
    async fn calls_are_refused_while_the_database_is_down_and_health_still_answers() {
        let inner = answers_slowly_on_slow(Duration::ZERO);
        let (up, layer) = database_gate();
        let mut service = Layered(layer).layer(inner);
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
