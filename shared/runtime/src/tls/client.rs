//! Client TLS with certificates that are reloaded while running (issue #20,
//! item 8): cert-manager renews this service's certificate (and the CA
//! bundle it trusts) by rewriting the mounted Secret; tonic's own client
//! TLS reads the files once, so after a renewal every reconnect would
//! present the old certificate until the process restarted.
//!
//! [`ReloadingClientTls`] keeps a rustls client configuration and rebuilds
//! it when the CA, certificate or key file changed (their modification
//! times and sizes, looked at on each new connection, which is rare);
//! [`channel`] makes a lazy tonic channel whose every new connection
//! handshakes with the configuration current at that moment. Connections
//! already open keep the certificate they started with. A file that cannot
//! be read or parsed keeps the configuration in use, logged as an error.
//!
//! (The balanced learner → course channel cannot take a connector; it
//! rebuilds its endpoints when the same files change, see `balance.rs`.)

use anyhow::Context;
use futures::future::BoxFuture;
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::tls::TlsConfig;

/// The files a client TLS configuration is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFiles {
    ca: PathBuf,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

/// What says a file changed: its modification time and size (`None` while
/// it cannot be read).
pub type Fingerprint = Vec<Option<(SystemTime, u64)>>;

impl ClientFiles {
    /// The files of `config` for an https peer; an error without a CA.
    pub fn of(config: &TlsConfig) -> anyhow::Result<Self> {
        let ca = config.tls_ca_file.clone().context(
            "an https endpoint needs ACADEMY_TLS_CA_FILE, the CA that signs its certificate",
        )?;
        Ok(Self {
            ca,
            cert: config.tls_cert_file.clone(),
            key: config.tls_key_file.clone(),
        })
    }

    /// The files' fingerprint now. (Through symlinks: a mounted Secret's
    /// files are links into a directory Kubernetes swaps on renewal.)
    pub fn fingerprint(&self) -> Fingerprint {
        [Some(&self.ca), self.cert.as_ref(), self.key.as_ref()]
            .into_iter()
            .flatten()
            .map(|p| {
                std::fs::metadata(p)
                    .and_then(|m| Ok((m.modified()?, m.len())))
                    .ok()
            })
            .collect()
    }

    fn build(&self) -> anyhow::Result<Arc<ClientConfig>> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.ca)
            .with_context(|| format!("cannot read {}", self.ca.display()))?
        {
            roots
                .add(cert.with_context(|| format!("{} is not a PEM CA bundle", self.ca.display()))?)
                .with_context(|| format!("{}: unusable CA certificate", self.ca.display()))?;
        }
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let mut config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .with_context(|| format!("cannot read {}", cert.display()))?
                    .collect::<Result<_, _>>()
                    .with_context(|| {
                        format!("{} is not a PEM certificate chain", cert.display())
                    })?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .with_context(|| format!("cannot read the key {}", key.display()))?;
                builder.with_client_auth_cert(chain, key)?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => anyhow::bail!("ACADEMY_TLS_CERT_FILE and ACADEMY_TLS_KEY_FILE go together"),
        };
        // gRPC is HTTP/2 only.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The client configuration in use, the files it came from and their
/// fingerprint when it was built; clones share it.
#[derive(Clone)]
pub struct ReloadingClientTls {
    files: ClientFiles,
    state: Arc<Mutex<(Fingerprint, Arc<ClientConfig>)>>,
}

impl std::fmt::Debug for ReloadingClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingClientTls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadingClientTls {
    /// An error when the files are unusable at start.
    pub fn new(files: ClientFiles) -> anyhow::Result<Self> {
        let seen = files.fingerprint();
        let config = files.build()?;
        Ok(Self {
            files,
            state: Arc::new(Mutex::new((seen, config))),
        })
    }

    /// The configuration for a new connection: rebuilt first if the files
    /// changed since the one in use was built.
    pub fn current(&self) -> Arc<ClientConfig> {
        let now = self.files.fingerprint();
        // A panic while holding the lock leaves a usable configuration.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.0 != now {
            match self.files.build() {
                Ok(config) => {
                    tracing::info!(ca = %self.files.ca.display(), "client TLS certificate reloaded");
                    *state = (now, config);
                }
                Err(err) => {
                    tracing::error!(err = %format!("{err:#}"), "cannot reload the client TLS certificate; keeping the one in use");
                    // Not again on every connection until the files change.
                    state.0 = now;
                }
            }
        }
        state.1.clone()
    }
}

/// Opens TCP to the URI's host and port and shakes hands as `server_name`
/// with the configuration current at that moment.
#[derive(Clone)]
struct Connector {
    tls: ReloadingClientTls,
    server_name: ServerName<'static>,
}

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = TlsConnector::from(self.tls.current());
        let server_name = self.server_name.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(443);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            // As tonic's own connector: gRPC messages are small and latency
            // matters more than packet count.
            tcp.set_nodelay(true)?;
            let tls = connector.connect(server_name, tcp).await?;
            Ok(TokioIo::new(tls))
        })
    }
}

/// A lazy channel to `url`: plaintext for `http://`; for `https://`, TLS
/// verified against `tls_ca_file` (with this service's certificate when it
/// has one), both reloaded for each new connection when their files
/// change. `configure` sets the endpoint's timeouts. Must run inside a
/// runtime.
pub fn channel(
    config: &TlsConfig,
    url: &str,
    configure: impl FnOnce(Endpoint) -> Endpoint,
) -> anyhow::Result<Channel> {
    let uri: Uri = url
        .parse()
        .with_context(|| format!("invalid endpoint {url:?}"))?;
    if uri.scheme_str() != Some("https") {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("invalid endpoint {url:?}"))?;
        return Ok(configure(endpoint).connect_lazy());
    }
    let files = ClientFiles::of(config).map_err(|_| {
        anyhow::anyhow!(
            "{url} is https: set ACADEMY_TLS_CA_FILE to the CA that signs its certificate"
        )
    })?;
    let tls = ReloadingClientTls::new(files)?;
    let host = uri
        .host()
        .with_context(|| format!("endpoint {url:?} has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let server_name = ServerName::try_from(host.clone())
        .with_context(|| format!("{host:?} is not a name a certificate can hold"))?;
    let port = uri.port_u16().unwrap_or(443);
    // tonic sees plain http (the connector already speaks TLS); the
    // connector is what dials host:port.
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let endpoint = Endpoint::from_shared(format!("http://{authority}"))?;
    Ok(configure(endpoint).connect_with_connector_lazy(Connector { tls, server_name }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_needs_a_ca_and_the_files_must_be_usable() {
        let config = TlsConfig::default();
        let err = ClientFiles::of(&config).expect_err("no CA");
        assert!(err.to_string().contains("ACADEMY_TLS_CA_FILE"), "{err}");
        let missing = ClientFiles {
            ca: "/nonexistent/ca.pem".into(),
            cert: None,
            key: None,
        };
        let err = ReloadingClientTls::new(missing).expect_err("missing CA file");
        assert!(
            format!("{err:#}").contains("/nonexistent/ca.pem"),
            "{err:#}"
        );
    }

    #[test]
    fn a_fingerprint_changes_with_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "one").expect("write");
        let files = ClientFiles {
            ca: ca.clone(),
            cert: None,
            key: None,
        };
        let before = files.fingerprint();
        assert!(before[0].is_some());
        std::fs::write(&ca, "longer content").expect("write");
        assert_ne!(files.fingerprint(), before);
        std::fs::remove_file(&ca).expect("remove");
        assert_eq!(files.fingerprint(), vec![None]);
    }
}
