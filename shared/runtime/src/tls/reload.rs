//! TLS on the gRPC port with certificates that are reloaded while serving
//! (issue #20, item 8): cert-manager renews a certificate (and its key)
//! weeks before it expires by rewriting the mounted Secret; tonic's own TLS
//! reads the files once. Here every connection's handshake uses the newest
//! configuration, rebuilt whenever the certificate, key or client CA file
//! changes (checked every `ACADEMY_TLS_RELOAD_SECS`). Connections already
//! open keep the certificate they started with. A file that cannot be read
//! or parsed keeps the configuration in use, logged as an error.

use anyhow::Context;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::tls::TlsConfig;

/// A handshake that takes longer than this is dropped (a client that opens
/// a socket and sends nothing must not hold a task forever).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The files a server TLS configuration is built from.
#[derive(Debug, Clone)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
}

impl Files {
    fn modified(&self) -> Vec<Option<SystemTime>> {
        let mut paths = vec![&self.cert, &self.key];
        paths.extend(self.client_ca.as_ref());
        paths
            .into_iter()
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .collect()
    }

    fn build(&self) -> anyhow::Result<TlsAcceptor> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .with_context(|| format!("cannot read {}", self.cert.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{} is not a PEM certificate chain", self.cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .with_context(|| format!("cannot read the key {}", self.key.display()))?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let mut config = match &self.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(ca)
                    .with_context(|| format!("cannot read {}", ca.display()))?
                {
                    roots.add(cert?)?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        }
        .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The acceptor in use and the files it came from.
#[derive(Clone)]
pub struct ReloadingTls {
    files: Files,
    acceptor: Arc<RwLock<TlsAcceptor>>,
}

impl std::fmt::Debug for ReloadingTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingTls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadingTls {
    /// `None` when TLS is off; an error when the files are unusable at start.
    pub fn from_config(config: &TlsConfig) -> anyhow::Result<Option<Self>> {
        let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) else {
            return Ok(None);
        };
        let files = Files {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: config.tls_client_ca_file.clone(),
        };
        let acceptor = files.build()?;
        Ok(Some(Self {
            files,
            acceptor: Arc::new(RwLock::new(acceptor)),
        }))
    }

    fn current(&self) -> TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rebuilds from the files now; false (old configuration kept) on error.
    pub fn reload(&self) -> bool {
        match self.files.build() {
            Ok(acceptor) => {
                *self.acceptor.write().unwrap_or_else(|p| p.into_inner()) = acceptor;
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(err) => {
                tracing::error!(err = %format!("{err:#}"), "cannot reload the TLS certificate; keeping the one in use");
                false
            }
        }
    }

    /// Reloads whenever one of the files changes, every `every`, until
    /// `shutdown`.
    pub fn watch(&self, every: Duration, shutdown: CancellationToken) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut seen = this.files.modified();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.cancelled() => return,
                }
                let now = this.files.modified();
                if now != seen && this.reload() {
                    seen = now;
                }
            }
        });
    }

    /// TLS connections over `incoming`: each handshake runs on its own task
    /// with the configuration current when the connection arrived.
    pub fn incoming<S, IO>(
        &self,
        incoming: S,
    ) -> impl futures::Stream<Item = io::Result<TlsStream<IO>>> + Send + 'static
    where
        S: futures::Stream<Item = io::Result<IO>> + Send + 'static,
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let this = self.clone();
        tokio::spawn(async move {
            let mut incoming = std::pin::pin!(incoming);
            while let Some(accepted) = incoming.next().await {
                let stream = match accepted {
                    Ok(stream) => stream,
                    Err(err) => {
                        tracing::debug!(%err, "accept failed");
                        continue;
                    }
                };
                let acceptor = this.current();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send(Ok(tls)).await;
                        }
                        Ok(Err(err)) => tracing::debug!(%err, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        tokio_stream::wrappers::ReceiverStream::new(rx)
    }
}
