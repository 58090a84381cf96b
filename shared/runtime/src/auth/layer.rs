//! The tower layer that authenticates every call and checks its scope.

use std::collections::HashMap;
use std::sync::Arc;
use tonic::Status;

use super::verify::{AuthError, Verifier};
use crate::server::middleware::{CallFuture, Inner, Middleware, Req, pass, refuse};

/// Method path (`/package.Service/Method`) → the scope it needs.
pub type ScopeTable = HashMap<String, &'static str>;

/// Who made a call, as its token says; handlers find it in the request
/// extensions (the audit log records `subject`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub scopes: Vec<String>,
    /// The slice of data the token limits the caller to.
    pub data: super::DataScope,
}

impl Caller {
    /// Whether the token holds `scope`.
    pub fn may(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Whether the caller of `request` holds `scope` (for answers that depend
/// on more than the method's own scope). No known caller: no.
pub fn caller_may<T>(request: &tonic::Request<T>, scope: &str) -> bool {
    request
        .extensions()
        .get::<Caller>()
        .is_some_and(|caller| caller.may(scope))
}

/// Paths anyone may call without a token: the Kubernetes probes' health.
pub(crate) fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
}

/// Server reflection (grpcurl's discovery): any valid token, whatever its
/// scopes, since it describes the contract and no data (issue #15, item 9).
pub(crate) fn is_reflection(path: &str) -> bool {
    ["/grpc.reflection.v1.", "/grpc.reflection.v1alpha."]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

#[derive(Debug, Clone)]
pub struct AuthLayer {
    /// `None` when auth is disabled. Replaceable: the JWKS is reloaded
    /// while serving (`super::reload`).
    verifier: Option<super::reload::SharedVerifier>,
    scopes: Arc<ScopeTable>,
}

impl AuthLayer {
    pub fn new(verifier: Option<Verifier>, scopes: ScopeTable) -> Self {
        Self {
            verifier: verifier.map(super::reload::SharedVerifier::new),
            scopes: Arc::new(scopes),
        }
    }

    /// The verifier in use, to reload its keys (`None` with auth disabled).
    pub fn verifier(&self) -> Option<super::reload::SharedVerifier> {
        self.verifier.clone()
    }
}

impl AuthLayer {
    /// The caller of `request`, or the status that refuses it.
    fn admit<B>(&self, request: &http::Request<B>) -> Result<Option<Caller>, Status> {
        let path = request.uri().path();
        if is_public(path) {
            return Ok(None);
        }
        let Some(verifier) = &self.verifier else {
            // Without auth everyone may do everything.
            return Ok(Some(Caller {
                subject: "anonymous (auth disabled)".into(),
                scopes: super::scope::ALL.iter().map(|s| (*s).to_owned()).collect(),
                data: super::DataScope::default(),
            }));
        };
        let token = bearer(request.headers()).map_err(unauthenticated)?;
        let claims = verifier.current().verify(token).map_err(unauthenticated)?;
        let scopes: Vec<String> = claims.scope.split_whitespace().map(str::to_owned).collect();
        if is_reflection(path) {
            return Ok(Some(Caller {
                subject: claims.sub,
                scopes,
                data: claims.data,
            }));
        }
        let needed =
            self.scopes.get(path).copied().ok_or_else(|| {
                Status::permission_denied(format!("{path} is not open to any scope"))
            })?;
        if !scopes.iter().any(|s| s == needed) {
            return Err(Status::permission_denied(format!(
                "this call needs the `{needed}` scope"
            )));
        }
        Ok(Some(Caller {
            subject: claims.sub,
            scopes,
            data: claims.data,
        }))
    }
}

fn unauthenticated(error: AuthError) -> Status {
    Status::unauthenticated(error.to_string())
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer(headers: &http::HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?;
    let text = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = text.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

impl Middleware for AuthLayer {
    fn around<B, S: Inner<B>>(&self, inner: &mut S, mut req: Req<B>) -> CallFuture<S::Error> {
        match self.admit(&req) {
            Ok(Some(caller)) => {
                let call = crate::auth::call::CallInfo {
                    actor: caller.subject.clone(),
                    method: req.uri().path().to_owned(),
                };
                req.extensions_mut().insert(caller);
                Box::pin(crate::auth::call::with_call(call, inner.call(req)))
            }
            Ok(None) => pass(inner, req),
            Err(status) => {
                tracing::debug!(method = %req.uri().path(), code = ?status.code(), "call refused");
                refuse(status)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthConfig, mint};
    use std::time::Duration;

    const SECRET: &str = "a-local-secret-of-at-least-32-characters";
    const PATH: &str = "/academy.course.v1.CourseService/GetCourse";

    fn layer() -> AuthLayer {
        let verifier = Verifier::from_config(&AuthConfig::hs256(SECRET)).expect("verifier");
        AuthLayer::new(
            Some(verifier),
            ScopeTable::from([(PATH.to_owned(), "catalog.read")]),
        )
    }

    fn request(path: &str, authorization: Option<&str>) -> http::Request<()> {
        let mut builder = http::Request::builder().uri(path);
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        builder.body(()).expect("request")
    }

    fn token(scopes: &[&str]) -> String {
        let t = mint(
            SECRET,
            "academy",
            "academy",
            "ops",
            scopes,
            Duration::from_secs(60),
        );
        format!("Bearer {}", t.expect("mint"))
    }

    fn code(result: Result<Option<Caller>, Status>) -> tonic::Code {
        result.err().map_or(tonic::Code::Ok, |s| s.code())
    }

    #[test]
    fn health_needs_no_token_and_reflection_any_valid_one() {
        let layer = layer();
        assert!(matches!(
            layer.admit(&request("/grpc.health.v1.Health/Check", None)),
            Ok(None)
        ));
        let any = token(&["events.read"]);
        for path in [
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert_eq!(
                code(layer.admit(&request(path, None))),
                tonic::Code::Unauthenticated,
                "{path}"
            );
            let caller = layer.admit(&request(path, Some(&any))).expect("admitted");
            assert_eq!(caller.map(|c| c.subject), Some("ops".to_owned()), "{path}");
        }
    }

    #[test]
    fn every_other_call_needs_a_token_with_the_method_scope() {
        let layer = layer();
        use tonic::Code::*;
        assert_eq!(code(layer.admit(&request(PATH, None))), Unauthenticated);
        assert_eq!(
            code(layer.admit(&request(PATH, Some("Basic abc")))),
            Unauthenticated
        );
        assert_eq!(
            code(layer.admit(&request(PATH, Some("Bearer ")))),
            Unauthenticated
        );
        let wrong = token(&["catalog.write", "reports.read"]);
        assert_eq!(
            code(layer.admit(&request(PATH, Some(&wrong)))),
            PermissionDenied
        );
        let right = token(&["catalog.read"]);
        let caller = layer.admit(&request(PATH, Some(&right))).expect("admitted");
        assert_eq!(caller.map(|c| c.subject), Some("ops".to_owned()));
    }

    #[test]
    fn a_method_missing_from_the_table_is_closed_to_every_token() {
        let all = token(&crate::auth::scope::ALL);
        let path = "/academy.course.v1.CourseService/Unlisted";
        assert_eq!(
            code(layer().admit(&request(path, Some(&all)))),
            tonic::Code::PermissionDenied
        );
    }

    #[test]
    fn refusals_do_not_echo_the_token() {
        let header = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXN0dWZm.c2ln";
        let status = layer()
            .admit(&request(PATH, Some(header)))
            .expect_err("refused");
        assert!(
            !status.message().contains("c2VjcmV0"),
            "{}",
            status.message()
        );
    }
}
