//! Optional TLS and mutual TLS (rustls) on the gRPC port and on the calls a
//! service makes, configured by file paths. Off by default: locally and
//! behind a mesh that already encrypts, plaintext is what operators expect.

pub mod client;
pub mod reload;

use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

/// TLS settings; every path names a PEM file.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsConfig {
    /// Certificate chain this service presents (as a server, and as a client
    /// when the servers it calls require one). With the key, turns TLS on.
    #[arg(long, env = "ACADEMY_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,

    /// Private key of that certificate.
    #[arg(long, env = "ACADEMY_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,

    /// CA that signs client certificates: when set, every client must
    /// present one (mutual TLS).
    #[arg(long, env = "ACADEMY_TLS_CLIENT_CA_FILE", requires = "tls_cert_file")]
    pub tls_client_ca_file: Option<PathBuf>,

    /// CA that signs the certificates of the services this one calls
    /// (needed for `https://` endpoints).
    #[arg(long, env = "ACADEMY_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,

    /// A second, plaintext port that serves only `grpc.health.v1`: kubelet
    /// gRPC probes speak neither TLS nor auth [default: off].
    #[arg(long, env = "ACADEMY_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,

    /// How often the certificate, key and client CA files are checked for
    /// changes; a change is loaded without a restart (0: every 30 s).
    #[arg(long, env = "ACADEMY_TLS_RELOAD_SECS", default_value_t = 30)]
    pub tls_reload_secs: u64,
}

impl TlsConfig {
    /// The server side, or `None` when TLS is off.
    pub fn server(&self) -> anyhow::Result<Option<ServerTlsConfig>> {
        let Some(identity) = self.identity()? else {
            return Ok(None);
        };
        let mut tls = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.tls_client_ca_file {
            tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
        }
        Ok(Some(tls))
    }

    /// How often certificate files are looked at for changes.
    pub fn reload_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(if self.tls_reload_secs == 0 {
            30
        } else {
            self.tls_reload_secs
        })
    }

    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.tls_client_ca_file.is_some()
    }

    /// An endpoint for `url`: `https://` verifies the server against
    /// `tls_ca_file` and presents this service's own certificate when it has
    /// one; `http://` stays plaintext.
    pub fn endpoint(&self, url: &str) -> anyhow::Result<Endpoint> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("invalid endpoint {url:?}"))?;
        if !url.starts_with("https://") {
            return Ok(endpoint);
        }
        let ca = self.tls_ca_file.as_ref().with_context(|| {
            format!("{url} is https: set ACADEMY_TLS_CA_FILE to the CA that signs its certificate")
        })?;
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
        if let Some(identity) = self.identity()? {
            tls = tls.identity(identity);
        }
        Ok(endpoint.tls_config(tls)?)
    }

    /// Like [`TlsConfig::endpoint`], but connecting to `addr` (one resolved
    /// address of `url`'s host) while TLS still verifies the certificate
    /// against the host's name: one endpoint per pod behind a headless
    /// Service.
    pub fn endpoint_at(&self, url: &str, addr: std::net::SocketAddr) -> anyhow::Result<Endpoint> {
        let uri: http::Uri = url
            .parse()
            .with_context(|| format!("invalid endpoint {url:?}"))?;
        let https = uri.scheme_str() == Some("https");
        let scheme = if https { "https" } else { "http" };
        let endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))?;
        if !https {
            return Ok(endpoint);
        }
        let host = uri.host().context("an https endpoint needs a host name")?;
        let ca = self.tls_ca_file.as_ref().with_context(|| {
            format!("{url} is https: set ACADEMY_TLS_CA_FILE to the CA that signs its certificate")
        })?;
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(ca)?))
            .domain_name(host);
        if let Some(identity) = self.identity()? {
            tls = tls.identity(identity);
        }
        Ok(endpoint.tls_config(tls)?)
    }

    fn identity(&self) -> anyhow::Result<Option<Identity>> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Ok(Some(Identity::from_pem(read(cert)?, read(key)?))),
            (None, None) => Ok(None),
            _ => anyhow::bail!("ACADEMY_TLS_CERT_FILE and ACADEMY_TLS_KEY_FILE go together"),
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_by_default_and_https_needs_a_ca() {
        let config = TlsConfig::default();
        assert!(config.server().expect("no files to read").is_none());
        assert!(config.endpoint("http://127.0.0.1:50051").is_ok());
        let err = config
            .endpoint("https://course:50051")
            .expect_err("no CA to verify with");
        assert!(err.to_string().contains("ACADEMY_TLS_CA_FILE"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let config = TlsConfig {
            tls_cert_file: Some("/nonexistent/cert.pem".into()),
            tls_key_file: Some("/nonexistent/key.pem".into()),
            ..Default::default()
        };
        let err = config.server().expect_err("files are missing");
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    }
}
