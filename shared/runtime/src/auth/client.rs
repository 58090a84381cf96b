//! The token a service sends on its own calls to other services
//! (learner → course, reporting → the feeds), with the least scopes they
//! need.
//!
//! A service's credentials must not expire under it (issue #20, item 1):
//! tokens it signs itself (with its own private key, or the local HS256
//! key) are renewed when a tenth of their life is left; a token file is
//! re-read every minute and its expiry watched. Each token's `exp` is the
//! gauge `auth_client_token_expiry_timestamp_seconds{subject}`, for the
//! credential-expiry alert, and a file token close to expiry is logged
//! loudly. A peer that answers UNAUTHENTICATED makes the caller drop the
//! cached token ([`ClientToken::invalidate`]) and retry with a fresh one.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};

use super::AuthConfig;

/// Minted tokens live this long and are renewed when a tenth is left.
const MINTED_TTL: Duration = Duration::from_secs(3600);
/// A token file is read again after this long (rotation in place).
const FILE_REREAD: Duration = Duration::from_secs(60);
/// A file token with less than this left is logged as an error each read.
const FILE_EXPIRY_WARNING: Duration = Duration::from_secs(15 * 60);

enum Source {
    /// Nothing to send (auth disabled and no key).
    None,
    /// A file an operator or a secret store keeps current.
    File(PathBuf),
    /// Signed here: with the service's own private key (ES256/RS256 and a
    /// `kid`), or with the shared HS256 key.
    Minted {
        key: Box<EncodingKey>,
        header: Box<Header>,
        issuer: String,
        audience: String,
        subject: String,
        scopes: Vec<&'static str>,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Minted {
                header, subject, ..
            } => f
                .debug_struct("Minted")
                .field("alg", &header.alg)
                .field("kid", &header.kid)
                .field("subject", subject)
                .finish_non_exhaustive(),
        }
    }
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
    subject: Arc<str>,
    ttl: Duration,
    cached: Arc<Mutex<Option<Cached>>>,
}

impl ClientToken {
    /// The token file if configured, else a token signed with the service's
    /// own key, else one minted with the HS256 key, for `subject` with
    /// `scopes`; else none. A signing key that cannot be read is logged and
    /// leaves the service without a token (calls fail UNAVAILABLE, loudly).
    pub fn from_config(config: &AuthConfig, subject: &str, scopes: &[&'static str]) -> Self {
        let minted = |key: EncodingKey, header: Header| Source::Minted {
            key: Box::new(key),
            header: Box::new(header),
            issuer: config.auth_issuer.clone(),
            audience: config.auth_audience.clone(),
            subject: subject.to_owned(),
            scopes: scopes.to_vec(),
        };
        let source = if let Some(path) = &config.auth_token_file {
            Source::File(path.clone())
        } else if let Some(path) = &config.auth_signing_key_file {
            match signing_key(path) {
                Ok((key, algorithm)) => {
                    let mut header = Header::new(algorithm);
                    header.kid.clone_from(&config.auth_signing_key_id);
                    minted(key, header)
                }
                Err(err) => {
                    tracing::error!(path = %path.display(), %err, "cannot read the service signing key: calls to other services will be refused");
                    Source::None
                }
            }
        } else if let Some(secret) = &config.auth_hs256_secret {
            minted(
                EncodingKey::from_secret(secret.expose().as_bytes()),
                Header::new(Algorithm::HS256),
            )
        } else {
            Source::None
        };
        Self {
            source: Arc::new(source),
            subject: subject.into(),
            ttl: MINTED_TTL,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// Sends no token (auth disabled, or tests of something else).
    pub fn none() -> Self {
        Self {
            source: Arc::new(Source::None),
            subject: "".into(),
            ttl: MINTED_TTL,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// Minted tokens last `ttl` instead of an hour (tests of renewal).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the authorization header; without a usable token the call goes
    /// out bare and the callee answers UNAUTHENTICATED, which the caller
    /// reports (a missing token must not crash a service).
    pub fn apply(&self, metadata: &mut MetadataMap) {
        if let Some(header) = self.header() {
            metadata.insert("authorization", header);
        }
    }

    /// Forgets the cached token: the next call mints or reads a fresh one
    /// (after a peer refused this one).
    pub fn invalidate(&self) {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        *cached = None;
    }

    fn header(&self) -> Option<AsciiMetadataValue> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_ref().filter(|c| c.renew_at > Instant::now()) {
            return Some(c.header.clone());
        }
        let (token, renew_in) = match self.source.as_ref() {
            Source::None => return None,
            Source::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => {
                    let token = text.trim().to_owned();
                    let left = self.watch_expiry(&token, "file");
                    if left.is_some_and(|left| left < FILE_EXPIRY_WARNING) {
                        tracing::error!(path = %path.display(), left = ?left, "the service token file is about to expire (or has): renew it");
                    }
                    // Read again sooner if it expires before the next read.
                    let renew_in = left.map_or(FILE_REREAD, |left| left.min(FILE_REREAD));
                    (token, renew_in.max(Duration::from_secs(1)))
                }
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "cannot read the service token file");
                    return cached.as_ref().map(|c| c.header.clone());
                }
            },
            Source::Minted {
                key,
                header,
                issuer,
                audience,
                subject,
                scopes,
            } => match super::token::sign(key, header, issuer, audience, subject, scopes, self.ttl)
            {
                Ok(token) => {
                    self.watch_expiry(&token, "signed");
                    (token, self.ttl - self.ttl / 10)
                }
                Err(err) => {
                    tracing::error!(%err, "cannot sign a service token");
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

    /// Publishes the token's `exp` as a gauge; how long it has left. A
    /// `signed` token is renewed on use, so only a `file` token's expiry
    /// needs an operator (the alert looks at those).
    fn watch_expiry(&self, token: &str, source: &'static str) -> Option<Duration> {
        let exp = expiry(token)?;
        metrics::gauge!(
            "auth_client_token_expiry_timestamp_seconds",
            "subject" => self.subject.to_string(),
            "source" => source
        )
        .set(exp as f64);
        let left = exp.saturating_sub(chrono::Utc::now().timestamp());
        Some(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
    }
}

/// A PEM private key and the algorithm it signs with.
fn signing_key(path: &std::path::Path) -> anyhow::Result<(EncodingKey, Algorithm)> {
    let pem = std::fs::read(path)?;
    super::verify::install_crypto();
    if let Ok(key) = EncodingKey::from_ec_pem(&pem) {
        return Ok((key, Algorithm::ES256));
    }
    if let Ok(key) = EncodingKey::from_rsa_pem(&pem) {
        return Ok((key, Algorithm::RS256));
    }
    anyhow::bail!("not a PEM EC (P-256) or RSA private key")
}

/// The `exp` claim of a token, read without verifying it (it is our own
/// credential; the peer verifies it).
fn expiry(token: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: i64,
    }
    jsonwebtoken::dangerous::insecure_decode::<Exp>(token)
        .ok()
        .map(|data| data.claims.exp)
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
    /// A key made for this test only (openssl genpkey, P-256).
    const TEST_EC_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+JUyiNZGt4WUzkLO\nJH9cW+902zAjmoZib/59Ji2NHROhRANCAASmzv+l/JXf8zZ4CNRNDzZMdxDza9N9\n8ZuIHcxLoaB+MgfnN9P9IZjOwzqXyROs/odUY81Z7AdPGd2IYT1LyMjs\n-----END PRIVATE KEY-----\n";

    fn bearer(token: &ClientToken) -> String {
        let mut metadata = MetadataMap::new();
        token.apply(&mut metadata);
        metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .expect("header set")
            .trim_start_matches("Bearer ")
            .to_owned()
    }

    #[test]
    fn a_service_signs_its_own_es256_tokens_that_the_jwks_verifies() {
        let dir = tempfile::tempdir().expect("dir");
        let key_path = dir.path().join("signing.pem");
        std::fs::write(&key_path, TEST_EC_KEY).expect("write");
        super::super::verify::install_crypto();
        let key = EncodingKey::from_ec_pem(TEST_EC_KEY.as_bytes()).expect("key");
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::ES256).expect("jwk");
        jwk.common.key_id = Some("learner-1".into());
        let jwks_path = dir.path().join("jwks.json");
        let set = jsonwebtoken::jwk::JwkSet { keys: vec![jwk] };
        std::fs::write(&jwks_path, serde_json::to_string(&set).expect("json")).expect("write");

        let mut config = AuthConfig::disabled();
        config.auth_signing_key_file = Some(key_path);
        config.auth_signing_key_id = Some("learner-1".into());
        let token = ClientToken::from_config(&config, "service:learner", &["catalog.read"]);
        let jwt = bearer(&token);
        let header = jsonwebtoken::decode_header(&jwt).expect("header");
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("learner-1"));

        let mut server = AuthConfig::disabled();
        server.auth_disabled = false;
        server.auth_jwks_file = Some(jwks_path);
        let verifier = super::super::Verifier::from_config(&server).expect("verifier");
        let caller = verifier.check(&jwt).expect("valid");
        assert_eq!(caller.subject, "service:learner");
        assert_eq!(caller.scopes, vec!["catalog.read".to_owned()]);
    }

    #[test]
    fn a_minted_token_is_renewed_before_it_expires_and_on_invalidate() {
        let config = AuthConfig::hs256("a-local-secret-of-at-least-32-characters");
        let token = ClientToken::from_config(&config, "service:reporting", &["events.read"])
            .with_ttl(Duration::from_secs(2));
        let first = bearer(&token);
        assert_eq!(bearer(&token), first, "cached while fresh");
        let first_exp = expiry(&first).expect("exp");
        // 90% of the life is gone: a new token, expiring later.
        std::thread::sleep(Duration::from_millis(2100));
        let second = bearer(&token);
        assert!(expiry(&second).expect("exp") > first_exp, "renewed");
        std::thread::sleep(Duration::from_millis(1100));
        token.invalidate();
        let third = bearer(&token);
        assert!(expiry(&third).expect("exp") > expiry(&second).expect("exp"));
    }

    #[test]
    fn a_token_file_close_to_expiry_is_read_again_before_it_expires() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("token");
        let secret = "a-local-secret-of-at-least-32-characters";
        let short = super::super::mint(
            secret,
            "academy",
            "academy",
            "s",
            &[],
            Duration::from_secs(2),
        )
        .expect("mint");
        std::fs::write(&path, &short).expect("write");
        let mut config = AuthConfig::disabled();
        config.auth_token_file = Some(path.clone());
        let token = ClientToken::from_config(&config, "s", &[]);
        assert_eq!(bearer(&token), short);
        // Rotated in place: picked up when the old one runs out, not a
        // minute later.
        let long = super::super::mint(
            secret,
            "academy",
            "academy",
            "s",
            &[],
            Duration::from_secs(600),
        )
        .expect("mint");
        std::fs::write(&path, &long).expect("write");
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(bearer(&token), long);
    }
}
