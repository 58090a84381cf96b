//! The tower plumbing of the server's own layers, written once. Each layer
//! (shedding, per-caller limits, the database gate, authentication, the
//! unary deadline, precise codes, metrics) is a [`Middleware`]: it says what
//! it does around one call; [`Layered`] and [`Wrapped`] make it a tower
//! layer and service. Every one of them sits inside the tracing layer, in
//! front of tonic's router, so the answer's body is always tonic's `Body`.

use futures::future::BoxFuture;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

/// A call's request.
pub type Req<B> = http::Request<B>;

/// The answer to one call, as every layer returns it.
pub type CallFuture<E> = BoxFuture<'static, Result<http::Response<Body>, E>>;

/// The service a middleware wraps (the rest of the stack).
pub trait Inner<B>:
    Service<Req<B>, Response = http::Response<Body>, Future: Send + 'static, Error: Send + 'static>
{
}

impl<T, B> Inner<B> for T where
    T: Service<
            Req<B>,
            Response = http::Response<Body>,
            Future: Send + 'static,
            Error: Send + 'static,
        >
{
}

/// What a layer does around one call: answer it itself (a refusal), or pass
/// it to `inner` and perhaps watch or change the answer.
pub trait Middleware: Clone {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, req: Req<B>) -> CallFuture<S::Error>;
}

/// Passes the call on unchanged.
pub fn pass<B, S: Inner<B>>(inner: &mut S, req: Req<B>) -> CallFuture<S::Error> {
    Box::pin(inner.call(req))
}

/// Passes the call on and keeps `guard` alive until its answer is ready
/// (a slot or a count freed when the call ends or is cancelled).
pub fn pass_holding<B, S: Inner<B>, G: Send + 'static>(
    inner: &mut S,
    req: Req<B>,
    guard: G,
) -> CallFuture<S::Error> {
    let call = inner.call(req);
    Box::pin(async move {
        let response = call.await;
        drop(guard);
        response
    })
}

/// Answers the call at once with `status` (gRPC's trailers-only form).
pub fn refuse<E: Send + 'static>(status: Status) -> CallFuture<E> {
    Box::pin(std::future::ready(Ok(status.into_http())))
}

/// The tower layer of a middleware.
#[derive(Debug, Clone)]
pub struct Layered<M>(pub M);

impl<M: Clone, S> Layer<S> for Layered<M> {
    type Service = Wrapped<M, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Wrapped {
            middleware: self.0.clone(),
            inner,
        }
    }
}

/// A service with a middleware in front of it.
#[derive(Debug, Clone)]
pub struct Wrapped<M, S> {
    middleware: M,
    inner: S,
}

impl<M: Middleware, S: Inner<B>, B> Service<Req<B>> for Wrapped<M, S> {
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = CallFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req<B>) -> Self::Future {
        self.middleware.around(&mut self.inner, req)
    }
}

/// The `grpc-status` header of an answer, if it has one (a refusal does;
/// a success, or a stream whose status only its trailers tell, does not).
pub fn grpc_status<R>(response: &http::Response<R>) -> Option<&str> {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
}

/// Test support for the layers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// `grpc_status`, owned (what the layers' tests compare).
    pub(crate) fn code(response: &http::Response<Body>) -> Option<String> {
        grpc_status(response).map(str::to_owned)
    }

    /// A stand-in for the rest of the stack: answers OK at once, but a call
    /// to "/a.S/Slow" only after `slow`.
    pub(crate) fn answers_slowly_on_slow(
        slow: std::time::Duration,
    ) -> impl Service<
        Req<()>,
        Response = http::Response<Body>,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone {
        tower::service_fn(move |req: Req<()>| async move {
            if req.uri().path() == "/a.S/Slow" {
                tokio::time::sleep(slow).await;
            }
            Ok(http::Response::new(Body::empty()))
        })
    }

    /// A request to `path` with an empty body.
    pub(crate) fn request(path: &str) -> http::Request<()> {
        http::Request::builder()
            .uri(path)
            .body(())
            .expect("request")
    }
}
