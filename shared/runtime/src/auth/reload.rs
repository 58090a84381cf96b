//! The JWKS is re-read while the server runs (issue #20, item 8): a key
//! added to or removed from the Secret reaches every replica within a
//! minute or so (the kubelet's refresh plus [`RELOAD_EVERY`]), with no
//! restart. A file that cannot be read or parsed keeps the keys in use and
//! is logged as an error.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

use super::{AuthConfig, Verifier};

/// How often the JWKS file's modification time is looked at.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// The verifier in use, replaceable while calls are being verified.
#[derive(Debug, Clone)]
pub struct SharedVerifier(Arc<RwLock<Arc<Verifier>>>);

impl SharedVerifier {
    pub fn new(verifier: Verifier) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(verifier))))
    }

    /// The verifier to use for one call.
    pub fn current(&self) -> Arc<Verifier> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn replace(&self, verifier: Verifier) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(verifier);
    }

    /// Re-reads the keys from `config`; false (and the old keys kept) when
    /// they cannot be read.
    pub fn reload(&self, config: &AuthConfig) -> bool {
        match Verifier::from_config(config) {
            Ok(verifier) => {
                tracing::info!(?verifier, "token keys reloaded");
                self.replace(verifier);
                true
            }
            Err(err) => {
                tracing::error!(%err, "cannot reload the token keys; keeping the ones in use");
                false
            }
        }
    }
}

/// Reloads the keys whenever the JWKS file changes, until `shutdown`.
pub fn watch_jwks(config: AuthConfig, shared: SharedVerifier, shutdown: CancellationToken) {
    let Some(path) = config.auth_jwks_file.clone() else {
        return;
    };
    let modified = |path: &std::path::Path| -> Option<SystemTime> {
        // A Secret volume swaps a symlink: the target's time changes.
        std::fs::metadata(path).and_then(|m| m.modified()).ok()
    };
    tokio::spawn(async move {
        let mut seen = modified(&path);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(RELOAD_EVERY) => {}
                _ = shutdown.cancelled() => return,
            }
            let now = modified(&path);
            if now != seen && shared.reload(&config) {
                seen = now;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    /// Keys made for this test only (openssl genpkey, P-256).
    const KEY_A: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+JUyiNZGt4WUzkLO\nJH9cW+902zAjmoZib/59Ji2NHROhRANCAASmzv+l/JXf8zZ4CNRNDzZMdxDza9N9\n8ZuIHcxLoaB+MgfnN9P9IZjOwzqXyROs/odUY81Z7AdPGd2IYT1LyMjs\n-----END PRIVATE KEY-----\n";
    const KEY_B: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKzXGxAaWZLmKYWEz\n3jVO3+ccXBgQoBYLlbgcd/t6RymhRANCAARE0YNgHUHBqeJd8U9H1XG4Hnsh2UNw\nMKpkbqqyO0PdDmiobelQTbDM0Ygdquuc7FHUUYd4tFNT0yskrcd/Ekpr\n-----END PRIVATE KEY-----\n";

    fn key(pem: &str) -> EncodingKey {
        EncodingKey::from_ec_pem(pem.as_bytes()).expect("key")
    }

    fn jwks(pem: &str, kid: &str) -> String {
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&key(pem), Algorithm::ES256).expect("jwk");
        jwk.common.key_id = Some(kid.into());
        serde_json::to_string(&jsonwebtoken::jwk::JwkSet { keys: vec![jwk] }).expect("json")
    }

    fn signed(pem: &str, kid: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        super::super::token::sign(
            &key(pem),
            &header,
            "academy",
            "academy",
            "s",
            &[],
            Duration::from_secs(60),
        )
        .expect("sign")
    }

    #[test]
    fn a_replaced_jwks_is_used_and_a_broken_one_is_not() {
        super::super::verify::install_crypto();
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("jwks.json");
        let mut config = AuthConfig::disabled();
        config.auth_disabled = false;
        config.auth_jwks_file = Some(path.clone());
        std::fs::write(&path, jwks(KEY_A, "a")).expect("write");
        let shared = SharedVerifier::new(Verifier::from_config(&config).expect("verifier"));
        assert!(shared.current().check(&signed(KEY_A, "a")).is_ok());
        assert!(shared.current().check(&signed(KEY_B, "b")).is_err());

        // The key rotated in the file: picked up without a restart.
        std::fs::write(&path, jwks(KEY_B, "b")).expect("write");
        assert!(shared.reload(&config));
        assert!(shared.current().check(&signed(KEY_B, "b")).is_ok());
        assert!(shared.current().check(&signed(KEY_A, "a")).is_err());

        std::fs::write(&path, "not json").expect("write");
        assert!(!shared.reload(&config));
        assert!(shared.current().check(&signed(KEY_B, "b")).is_ok(), "kept");
    }
}
