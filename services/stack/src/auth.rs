//! Local auth made easy: the stack keeps an HS256 key in its data directory
//! (or takes ACADEMY_AUTH_HS256_SECRET), hands it to the three services, and
//! mints an all-scopes development token into `dev.token` for the demo,
//! academyctl and grpcurl.

use academy_runtime::auth::{mint, scope};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the development token is valid.
const DEV_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug)]
pub(crate) struct LocalAuth {
    pub(crate) secret: academy_runtime::auth::Secret,
    pub(crate) token: String,
    pub(crate) token_file: PathBuf,
}

impl LocalAuth {
    /// The key from the environment, else from `<data_dir>/auth.secret`
    /// (created on first run, readable by its owner only).
    pub(crate) fn prepare(data_dir: &Path) -> anyhow::Result<Self> {
        let secret = match std::env::var("ACADEMY_AUTH_HS256_SECRET") {
            Ok(secret) if !secret.is_empty() => secret,
            _ => stored_secret(&data_dir.join("auth.secret"))?,
        };
        let token = mint(
            &secret,
            "academy",
            "academy",
            "developer (academy-stack)",
            &scope::ALL,
            DEV_TOKEN_TTL,
        )?;
        let token_file = data_dir.join("dev.token");
        write_private(&token_file, &token)?;
        Ok(Self {
            secret: academy_runtime::auth::Secret::new(secret),
            token,
            token_file,
        })
    }
}

fn stored_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(secret) = std::fs::read_to_string(path) {
        return Ok(secret.trim().to_owned());
    }
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(path, &secret)?;
    Ok(secret)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
