//! Connecting to the services: endpoints from flags or the environment, and
//! the caller's bearer token on every call.

use academy_runtime::tls::TlsConfig;
use anyhow::Context;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Adds `authorization: Bearer <token>` to every call when a token is set.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<AsciiMetadataValue>);

impl Bearer {
    /// A token as given by the operator; `None` or empty sends no header.
    pub fn new(token: Option<&str>) -> anyhow::Result<Self> {
        let value = match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => Some(
                format!("Bearer {token}")
                    .parse()
                    .context("the token has characters a header cannot carry")?,
            ),
            None => None,
        };
        Ok(Self(value))
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel with the caller's token, ready for any generated client.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Connects to `endpoint` (e.g. `http://127.0.0.1:50053`) in plaintext.
pub async fn connect(endpoint: &str, bearer: &Bearer) -> anyhow::Result<Authed> {
    connect_tls(endpoint, bearer, &TlsConfig::default()).await
}

/// Connects to `endpoint`; an `https://` one is verified against the CA in
/// `tls` and gets the client certificate there, if any (mutual TLS).
pub async fn connect_tls(
    endpoint: &str,
    bearer: &Bearer,
    tls: &TlsConfig,
) -> anyhow::Result<Authed> {
    let channel = tls
        .endpoint(endpoint)?
        .connect()
        .await
        .with_context(|| format!("cannot reach {endpoint}"))?;
    Ok(InterceptedService::new(channel, bearer.clone()))
}

/// A gRPC failure in words an operator can act on: the code, the message
/// and, for INVALID_ARGUMENT, each offending field.
pub fn describe(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_details_bad_request() {
        let said = |v: &tonic_types::FieldViolation| {
            status
                .message()
                .contains(&format!("{}: {}", v.field, v.description))
        };
        for violation in bad.field_violations.into_iter().filter(|v| !said(v)) {
            text.push_str(&format!(
                "\n  {}: {}",
                violation.field, violation.description
            ));
        }
    }
    text
}

/// Turns a failed call into an error naming what was being done.
pub trait CallContext<T> {
    fn during(self, what: &str) -> anyhow::Result<T>;
}

impl<T> CallContext<T> for Result<tonic::Response<T>, tonic::Status> {
    fn during(self, what: &str) -> anyhow::Result<T> {
        self.map(tonic::Response::into_inner)
            .map_err(|status| anyhow::anyhow!("{what} failed: {}", describe(&status)))
    }
}
