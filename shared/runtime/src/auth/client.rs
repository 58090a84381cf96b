//! The token a service sends on its own calls to other services
//! (learner → course, reporting → the feeds), with the least scopes they
//! need.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};

use super::AuthConfig;

/// Minted tokens live this long and are renewed when a tenth is left.
const MINTED_TTL: Duration = Duration::from_secs(3600);
/// A token file is read again after this long (rotation in place).
const FILE_REREAD: Duration = Duration::from_secs(60);

#[derive(Debug)]
enum Source {
    /// Nothing to send (auth disabled and no key).
    None,
    /// A file an operator or a secret store keeps current.
    File(PathBuf),
    /// Signed here with the shared HS256 key.
    Minted {
        secret: String,
        issuer: String,
        audience: String,
        subject: String,
        scopes: Vec<&'static str>,
    },
}

#[derive(Debug)]
struct Cached {
    header: AsciiMetadataValue,
    renew_at: Instant,
}

/// Adds `authorization: Bearer …` to outgoing requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientToken {
    source: Arc<Source>,
    cached: Arc<Mutex<Option<Cached>>>,
}

impl ClientToken {
    /// The token file if configured, else a token minted with the HS256 key
    /// for `subject` with `scopes`, else none.
    pub fn from_config(config: &AuthConfig, subject: &str, scopes: &[&'static str]) -> Self {
        let source = match (&config.auth_token_file, &config.auth_hs256_secret) {
            (Some(path), _) => Source::File(path.clone()),
            (None, Some(secret)) => Source::Minted {
                secret: secret.clone(),
                issuer: config.auth_issuer.clone(),
                audience: config.auth_audience.clone(),
                subject: subject.to_owned(),
                scopes: scopes.to_vec(),
            },
            (None, None) => Source::None,
        };
        Self {
            source: Arc::new(source),
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// Sends no token (auth disabled, or tests of something else).
    pub fn none() -> Self {
        Self {
            source: Arc::new(Source::None),
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// Sets the authorization header; without a usable token the call goes
    /// out bare and the callee answers UNAUTHENTICATED, which the caller
    /// reports (a missing token must not crash a service).
    pub fn apply(&self, metadata: &mut MetadataMap) {
        if let Some(header) = self.header() {
            metadata.insert("authorization", header);
        }
    }

    fn header(&self) -> Option<AsciiMetadataValue> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_ref().filter(|c| c.renew_at > Instant::now()) {
            return Some(c.header.clone());
        }
        let (token, renew_in) = match self.source.as_ref() {
            Source::None => return None,
            Source::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => (text.trim().to_owned(), FILE_REREAD),
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "cannot read the service token file");
                    return cached.as_ref().map(|c| c.header.clone());
                }
            },
            Source::Minted {
                secret,
                issuer,
                audience,
                subject,
                scopes,
            } => match super::mint(secret, issuer, audience, subject, scopes, MINTED_TTL) {
                Ok(token) => (token, MINTED_TTL - MINTED_TTL / 10),
                Err(err) => {
                    tracing::warn!(%err, "cannot mint a service token");
                    return None;
                }
            },
        };
        let header: AsciiMetadataValue = format!("Bearer {token}").parse().ok()?;
        *cached = Some(Cached {
            header: header.clone(),
            renew_at: Instant::now() + renew_in,
        });
        Some(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_service_token_carries_only_the_scopes_asked_for() {
        let config = AuthConfig::hs256("a-local-secret-of-at-least-32-characters");
        let token = ClientToken::from_config(&config, "service:learner", &["catalog.read"]);
        let mut metadata = MetadataMap::new();
        token.apply(&mut metadata);
        let header = metadata.get("authorization").expect("header set");
        let jwt = header
            .to_str()
            .expect("ascii")
            .trim_start_matches("Bearer ");
        let verifier = super::super::Verifier::from_config(&config).expect("verifier");
        let claims = verifier.verify(jwt).expect("valid");
        assert_eq!(claims.sub, "service:learner");
        assert_eq!(claims.scope, "catalog.read");
    }

    #[test]
    fn a_token_file_is_sent_as_it_is_and_none_sends_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "abc.def.ghi\n").expect("write");
        let mut config = AuthConfig::disabled();
        config.auth_token_file = Some(path);
        let mut metadata = MetadataMap::new();
        ClientToken::from_config(&config, "s", &[]).apply(&mut metadata);
        assert_eq!(
            metadata.get("authorization").and_then(|v| v.to_str().ok()),
            Some("Bearer abc.def.ghi")
        );
        let mut bare = MetadataMap::new();
        ClientToken::none().apply(&mut bare);
        assert!(bare.get("authorization").is_none());
    }
}
