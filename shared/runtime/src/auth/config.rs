//! Token settings; the names are the ones the manifests and scripts use.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// Shared HS256 key for bearer tokens (local use; the stack sets one).
    #[arg(long, env = "ACADEMY_AUTH_HS256_SECRET", hide_env_values = true)]
    pub auth_hs256_secret: Option<super::Secret>,

    /// JSON Web Key Set file with the public keys (RS256/ES256) of
    /// production tokens; re-read when it changes (checked every 30 s).
    #[arg(long, env = "ACADEMY_AUTH_JWKS_FILE")]
    pub auth_jwks_file: Option<PathBuf>,

    /// The `iss` every token must carry.
    #[arg(long, env = "ACADEMY_AUTH_ISSUER", default_value = "academy")]
    pub auth_issuer: String,

    /// The `aud` every token must carry.
    #[arg(long, env = "ACADEMY_AUTH_AUDIENCE", default_value = "academy")]
    pub auth_audience: String,

    /// Serve without checking tokens. Only by explicit choice: it logs a
    /// loud warning, and no manifest sets it.
    #[arg(long, env = "ACADEMY_AUTH_DISABLED", default_value_t = false, action = clap::ArgAction::Set)]
    pub auth_disabled: bool,

    /// File holding the bearer token this service sends to the services it
    /// calls (re-read every minute, so it can be rotated in place). Without
    /// it, a service with an HS256 key mints its own least-scope tokens.
    #[arg(long, env = "ACADEMY_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,

    /// PEM private key (EC P-256 for ES256, or RSA for RS256) with which
    /// this service signs its own short-lived tokens, renewed before they
    /// expire; its public key goes into the callees' JWKS. Used when no
    /// token file is set.
    #[arg(long, env = "ACADEMY_AUTH_SIGNING_KEY_FILE")]
    pub auth_signing_key_file: Option<PathBuf>,

    /// The `kid` put in the header of tokens signed with that key (the
    /// JWKS entry of its public key carries the same).
    #[arg(long, env = "ACADEMY_AUTH_SIGNING_KEY_ID")]
    pub auth_signing_key_id: Option<String>,
}

impl AuthConfig {
    /// Auth off, no keys: for in-process tests that test something else.
    pub fn disabled() -> Self {
        Self {
            auth_hs256_secret: None,
            auth_jwks_file: None,
            auth_issuer: "academy".into(),
            auth_audience: "academy".into(),
            auth_disabled: true,
            auth_token_file: None,
            auth_signing_key_file: None,
            auth_signing_key_id: None,
        }
    }

    /// Verifies tokens signed with `secret`; for tests and the local stack.
    pub fn hs256(secret: impl Into<String>) -> Self {
        Self {
            auth_hs256_secret: Some(super::Secret::new(secret)),
            auth_disabled: false,
            ..Self::disabled()
        }
    }
}
