//! Token verification against the configured keys.

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::AuthConfig;

/// Why a token was refused. The texts go back to the caller, so they name
/// the kind of failure and never the token, the key or the claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("the authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token issuer or audience not accepted")]
    WrongIssuerOrAudience,
    #[error(
        "token lifetime not accepted: it needs an `iat` not in the future and may last at most 24 hours"
    )]
    Lifetime,
    #[error("token subject not accepted: it must be 1-256 characters with no control characters")]
    Subject,
    #[error("token data scope not accepted: {0}")]
    DataScope(String),
    #[error("invalid token")]
    Invalid,
}

/// One accepted key.
struct Key {
    id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Verifies tokens against every configured key.
pub struct Verifier {
    keys: Vec<Key>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// What the server keeps of a verified token.
#[derive(Debug, Deserialize)]
pub(super) struct Verified {
    pub(super) sub: String,
    #[serde(default)]
    pub(super) scope: String,
    /// Issued at; required (a token without one has no known lifetime).
    #[serde(default)]
    iat: Option<i64>,
    exp: i64,
    /// The data-scope claims (`programs`, `regions`, `organizations`).
    #[serde(flatten)]
    pub(super) data: super::DataScope,
}

/// Longest accepted lifetime of a token (`exp - iat`): a stolen token is
/// useful for a day at most.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// Longest accepted `sub`; it becomes the audit log's actor.
pub const MAX_SUBJECT_LEN: usize = 256;

impl Verified {
    /// The checks jsonwebtoken does not make: `iat` present, not in the
    /// future and at most [`MAX_TOKEN_LIFETIME_SECS`] before `exp`; `sub`
    /// short, not blank, and free of control characters (it is written
    /// to the audit log as the actor, where a newline could forge a line).
    fn check(mut self, now: i64) -> Result<Self, AuthError> {
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        match self.iat {
            Some(iat)
                if iat <= now.saturating_add(leeway)
                    && self.exp.saturating_sub(iat) <= MAX_TOKEN_LIFETIME_SECS => {}
            _ => return Err(AuthError::Lifetime),
        }
        let sub = self.sub.as_str();
        if sub.trim().is_empty()
            || sub.trim() != sub
            || sub.chars().count() > MAX_SUBJECT_LEN
            || sub.chars().any(|c| c.is_control() || is_invisible(c))
        {
            return Err(AuthError::Subject);
        }
        self.data = self.data.validated().map_err(AuthError::DataScope)?;
        Ok(self)
    }
}

/// Format characters that would hide or reorder what an auditor reads
/// (zero-width spaces and joiners, bidirectional overrides, BOM).
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Tokens older than their `exp` by this much still pass (clock skew).
const LEEWAY_SECS: u64 = 30;

/// jsonwebtoken picks its crypto backend at run time; ours is RustCrypto.
pub(super) fn install_crypto() {
    // An error only means a provider is installed already.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

impl Verifier {
    /// Keys from `config`: the HS256 secret and/or every key of the JWKS file.
    pub fn from_config(config: &AuthConfig) -> anyhow::Result<Self> {
        install_crypto();
        let mut keys = Vec::new();
        if let Some(secret) = config.auth_hs256_secret.as_ref().map(super::Secret::expose) {
            if secret.len() < 32 {
                anyhow::bail!("ACADEMY_AUTH_HS256_SECRET must be at least 32 characters");
            }
            keys.push(Key {
                id: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(secret.as_bytes()),
            });
        }
        if let Some(path) = &config.auth_jwks_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let set: JwkSet = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not a JWKS: {e}", path.display()))?;
            for jwk in &set.keys {
                keys.push(Key {
                    id: jwk.common.key_id.clone(),
                    algorithm: jwk_algorithm(jwk)?,
                    key: DecodingKey::from_jwk(jwk)?,
                });
            }
        }
        if keys.is_empty() {
            anyhow::bail!(
                "no token key configured: set ACADEMY_AUTH_HS256_SECRET (local use) or \
                 ACADEMY_AUTH_JWKS_FILE, or ACADEMY_AUTH_DISABLED=true to run without auth"
            );
        }
        Ok(Self {
            keys,
            issuer: config.auth_issuer.clone(),
            audience: config.auth_audience.clone(),
        })
    }

    /// Who a valid token speaks for and what it may do (for tools and
    /// tests; the server layer uses the same check).
    pub fn check(&self, token: &str) -> Result<super::Caller, AuthError> {
        self.verify(token).map(|claims| super::Caller {
            subject: claims.sub,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            data: claims.data,
        })
    }

    /// The subject and scopes of a valid token.
    pub(super) fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        let candidates = self.keys.iter().filter(|k| {
            k.algorithm == header.alg
                && (header.kid.is_none() || k.id.is_none() || k.id == header.kid)
        });
        let mut outcome = Err(AuthError::Invalid);
        for key in candidates {
            outcome =
                jsonwebtoken::decode::<Verified>(token, &key.key, &self.validation(key.algorithm))
                    .map(|data| data.claims)
                    .map_err(|e| match e.kind() {
                        ErrorKind::ExpiredSignature => AuthError::Expired,
                        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
                            AuthError::WrongIssuerOrAudience
                        }
                        _ => AuthError::Invalid,
                    });
            if outcome.is_ok() {
                break;
            }
        }
        outcome.and_then(|claims| claims.check(chrono::Utc::now().timestamp()))
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation
    }
}

/// The algorithm a JWK is used with: its `alg`, else RS256 for RSA keys and
/// ES256 for P-256 keys.
fn jwk_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> anyhow::Result<Algorithm> {
    Ok(match (jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), _) | (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
        (Some(KeyAlgorithm::ES256), _) | (None, AlgorithmParameters::EllipticCurve(_)) => {
            Algorithm::ES256
        }
        (Some(KeyAlgorithm::RS384), _) => Algorithm::RS384,
        (Some(KeyAlgorithm::RS512), _) => Algorithm::RS512,
        (Some(KeyAlgorithm::ES384), _) => Algorithm::ES384,
        (Some(KeyAlgorithm::PS256), _) => Algorithm::PS256,
        (Some(KeyAlgorithm::EdDSA), _) => Algorithm::EdDSA,
        _ => anyhow::bail!(
            "JWKS key {:?} has an unsupported algorithm",
            jwk.common.key_id
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::mint;
    use std::time::Duration;

    const SECRET: &str = "a-local-secret-of-at-least-32-characters";

    fn verifier() -> Verifier {
        Verifier::from_config(&AuthConfig::hs256(SECRET)).expect("verifier")
    }

    fn token(secret: &str, issuer: &str, audience: &str, ttl: Duration) -> String {
        mint(
            secret,
            issuer,
            audience,
            "ops@example",
            &["reports.read"],
            ttl,
        )
        .expect("mint")
    }

    #[test]
    fn a_good_token_gives_its_subject_and_scopes() {
        let claims = verifier()
            .verify(&token(
                SECRET,
                "academy",
                "academy",
                Duration::from_secs(60),
            ))
            .expect("valid");
        assert_eq!(claims.sub, "ops@example");
        assert_eq!(claims.scope, "reports.read");
    }

    #[test]
    fn bad_tokens_are_refused_for_the_right_reason() {
        let v = verifier();
        let ttl = Duration::from_secs(60);
        let wrong_key = token(
            "another-secret-that-is-at-least-32-chars",
            "academy",
            "academy",
            ttl,
        );
        assert_eq!(v.verify(&wrong_key).err(), Some(AuthError::Invalid));
        let issuer = token(SECRET, "someone-else", "academy", ttl);
        assert_eq!(
            v.verify(&issuer).err(),
            Some(AuthError::WrongIssuerOrAudience)
        );
        let audience = token(SECRET, "academy", "other", ttl);
        assert_eq!(
            v.verify(&audience).err(),
            Some(AuthError::WrongIssuerOrAudience)
        );
        assert_eq!(v.verify("not.a.token").err(), Some(AuthError::Invalid));
        assert_eq!(v.verify("").err(), Some(AuthError::Invalid));
    }

    #[test]
    fn expired_and_future_tokens_are_refused() {
        let v = verifier();
        let now = chrono::Utc::now().timestamp();
        let sign = |nbf: i64, exp: i64| {
            let claims = crate::auth::Claims {
                sub: "x".into(),
                iss: "academy".into(),
                aud: "academy".into(),
                iat: now,
                nbf,
                exp,
                scope: String::new(),
                data: Default::default(),
            };
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(Algorithm::HS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
            )
            .expect("encode")
        };
        assert_eq!(
            v.verify(&sign(now - 600, now - 300)).err(),
            Some(AuthError::Expired)
        );
        assert_eq!(
            v.verify(&sign(now + 600, now + 900)).err(),
            Some(AuthError::NotYetValid)
        );
    }

    fn sign(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode")
    }

    #[test]
    fn tokens_need_an_iat_and_a_lifetime_of_a_day_at_most() {
        let v = verifier();
        let now = chrono::Utc::now().timestamp();
        let claims = |iat: Option<i64>, exp: i64| {
            let mut c = serde_json::json!({
                "sub": "ops", "iss": "academy", "aud": "academy", "exp": exp, "scope": "",
            });
            if let Some(iat) = iat {
                c["iat"] = iat.into();
            }
            c
        };
        assert!(v.verify(&sign(&claims(Some(now), now + 3600))).is_ok());
        assert!(v.verify(&sign(&claims(Some(now), now + 24 * 3600))).is_ok());
        for (iat, exp) in [
            (None, now + 60),
            (Some(now), now + 24 * 3600 + 1),
            (Some(now - 10), now + 365 * 24 * 3600),
            (Some(now + 3600), now + 7200),
        ] {
            assert_eq!(
                v.verify(&sign(&claims(iat, exp))).err(),
                Some(AuthError::Lifetime),
                "iat {iat:?} exp {exp}"
            );
        }
    }

    #[test]
    fn blank_long_and_multi_line_subjects_are_refused() {
        let v = verifier();
        let now = chrono::Utc::now().timestamp();
        let with_sub = |sub: &str| {
            sign(&serde_json::json!({
                "sub": sub, "iss": "academy", "aud": "academy",
                "iat": now, "exp": now + 60, "scope": "",
            }))
        };
        assert!(v.verify(&with_sub("dpo:leyla")).is_ok());
        assert!(v.verify(&with_sub("Leyla Məmmədova")).is_ok());
        for sub in [
            "",
            "   ",
            " ops",
            "ops\nadmin",
            "ops\r",
            "ops\u{0}",
            "ops\u{202E}nimda",
            "o\u{200B}ps",
            &"x".repeat(MAX_SUBJECT_LEN + 1),
        ] {
            assert_eq!(
                v.verify(&with_sub(sub)).err(),
                Some(AuthError::Subject),
                "{sub:?}"
            );
        }
    }

    #[test]
    fn an_alg_none_token_is_refused() {
        // header {"alg":"none"}, claims that would otherwise pass.
        let forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiaXNzIjoiYWNhZGVteSIsImF1ZCI6ImFjYWRlbXkiLCJleHAiOjk5OTk5OTk5OTl9.";
        assert_eq!(verifier().verify(forged).err(), Some(AuthError::Invalid));
    }

    #[test]
    fn no_key_means_no_start_and_short_secrets_are_refused() {
        let mut none = AuthConfig::hs256("x".repeat(40));
        none.auth_hs256_secret = None;
        assert!(Verifier::from_config(&none).is_err());
        assert!(Verifier::from_config(&AuthConfig::hs256("short")).is_err());
    }

    #[test]
    fn data_scope_claims_are_read_and_bad_ones_refuse_the_token() {
        let v = verifier();
        let sign = |data: serde_json::Value| {
            let now = chrono::Utc::now().timestamp();
            let mut claims = serde_json::json!({
                "sub": "officer", "iss": "academy", "aud": "academy",
                "iat": now, "nbf": now, "exp": now + 60, "scope": "reports.read",
            });
            if let (Some(c), Some(d)) = (claims.as_object_mut(), data.as_object()) {
                c.extend(d.clone());
            }
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(Algorithm::HS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
            )
            .expect("encode")
        };
        let good = v
            .verify(&sign(
                serde_json::json!({"regions": ["baku"], "programs": ["p1"]}),
            ))
            .expect("valid");
        assert_eq!(good.data.regions, Some(vec!["Baku".to_owned()]));
        assert_eq!(good.data.programs, Some(vec!["p1".to_owned()]));
        assert_eq!(good.data.organizations, None);
        for bad in [
            serde_json::json!({"regions": "Baku"}),
            serde_json::json!({"regions": ["Atlantis"]}),
            serde_json::json!({"organizations": [""]}),
            serde_json::json!({"programs": [1]}),
        ] {
            assert!(v.verify(&sign(bad.clone())).is_err(), "{bad}");
        }
    }
}
