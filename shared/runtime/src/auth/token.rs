//! The claims Academy reads, and minting HS256 tokens for local use and
//! for a service's own calls.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The claims of an Academy token. `scope` is OAuth2-style: space-separated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub scope: String,
    /// Data-scope claims (`programs`, `regions`, `organizations`), when any.
    #[serde(flatten)]
    pub data: super::DataScope,
}

/// Signs an HS256 token for `subject` with `scopes`, valid from now for `ttl`.
pub fn mint(
    secret: &str,
    issuer: &str,
    audience: &str,
    subject: &str,
    scopes: &[&str],
    ttl: Duration,
) -> anyhow::Result<String> {
    mint_limited(
        secret,
        issuer,
        audience,
        subject,
        scopes,
        &super::DataScope::default(),
        ttl,
    )
}

/// As [`mint`], with data-scope claims limiting the token to a slice.
pub fn mint_limited(
    secret: &str,
    issuer: &str,
    audience: &str,
    subject: &str,
    scopes: &[&str],
    data: &super::DataScope,
    ttl: Duration,
) -> anyhow::Result<String> {
    let claims = Claims::fresh(issuer, audience, subject, scopes, data, ttl);
    encode(
        &EncodingKey::from_secret(secret.as_bytes()),
        &Header::new(Algorithm::HS256),
        &claims,
    )
}

/// Signs a token with `key` under `header` (its algorithm and `kid`); a
/// service's own tokens carry no data scope.
pub(super) fn sign(
    key: &EncodingKey,
    header: &Header,
    issuer: &str,
    audience: &str,
    subject: &str,
    scopes: &[&str],
    ttl: Duration,
) -> anyhow::Result<String> {
    let claims = Claims::fresh(
        issuer,
        audience,
        subject,
        scopes,
        &super::DataScope::default(),
        ttl,
    );
    encode(key, header, &claims)
}

impl Claims {
    /// Claims issued now and valid for `ttl`.
    fn fresh(
        issuer: &str,
        audience: &str,
        subject: &str,
        scopes: &[&str],
        data: &super::DataScope,
        ttl: Duration,
    ) -> Self {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: subject.to_owned(),
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            scope: scopes.join(" "),
            data: data.clone(),
        }
    }
}

fn encode(key: &EncodingKey, header: &Header, claims: &Claims) -> anyhow::Result<String> {
    super::verify::install_crypto();
    Ok(jsonwebtoken::encode(header, claims, key)?)
}
