//! Client-side balancing over every pod of a service (issue #20, item 7).
//!
//! One tonic channel holds one HTTP/2 connection to one address, so a
//! client that connects to a Service name once sends every call to one pod.
//! Here the endpoint's host (a headless Service: one DNS record per ready
//! pod) is resolved again every few seconds; each address gets its own
//! connection in tonic's balanced channel (power of two choices), pods
//! that appear are added and pods that go are dropped. Several URLs may be
//! given, separated by commas (their addresses are pooled).
//!
//! With https, each endpoint holds the TLS files' contents as read when it
//! was built; when the CA, certificate or key file changes (cert-manager
//! renewed them), every endpoint is built again from the new files and
//! replaces the old one, so connections from then on present the renewed
//! certificate (checked as often as the names are resolved, or every
//! `ACADEMY_TLS_RELOAD_SECS` if that is sooner).

use futures::future::BoxFuture;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

use crate::tls::TlsConfig;

/// How often the names are resolved again (pods come and go).
const RESOLVE_EVERY: Duration = Duration::from_secs(10);
/// How soon to try again while no address is known.
const RESOLVE_RETRY: Duration = Duration::from_secs(1);

/// Resolves a host and port to addresses: the system resolver in service,
/// a fixed table in tests (a headless Service's several records for one
/// name cannot be made on a test machine's resolver).
pub type Resolver =
    Arc<dyn Fn(String, u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> + Send + Sync>;

/// The system resolver (what `/etc/resolv.conf` and the cluster DNS say).
pub fn system_resolver() -> Resolver {
    Arc::new(|host: String, port: u16| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    })
}

/// A channel that spreads calls over every address `urls` resolve to.
/// `configure` sets each endpoint's timeouts. Must run inside a runtime.
pub fn channel(
    tls: &TlsConfig,
    urls: &str,
    configure: impl Fn(Endpoint) -> Endpoint + Send + 'static,
) -> anyhow::Result<Channel> {
    channel_resolved_by(tls, urls, configure, system_resolver())
}

/// [`channel`] with the names resolved by `resolve`.
pub fn channel_resolved_by(
    tls: &TlsConfig,
    urls: &str,
    configure: impl Fn(Endpoint) -> Endpoint + Send + 'static,
    resolve: Resolver,
) -> anyhow::Result<Channel> {
    let targets = targets(urls)?;
    // Fail at start on what can never work (an https URL without a CA).
    for (url, _, _) in &targets {
        tls.endpoint(url)?;
    }
    let (channel, changes) = Channel::balance_channel::<SocketAddr>(64);
    tokio::spawn(follow_dns(
        tls.clone(),
        targets,
        configure,
        changes,
        resolve,
    ));
    Ok(channel)
}

/// (url, host, port) of each comma-separated URL.
fn targets(urls: &str) -> anyhow::Result<Vec<(String, String, u16)>> {
    let mut targets = Vec::new();
    for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let uri: http::Uri = url
            .parse()
            .map_err(|err| anyhow::anyhow!("invalid endpoint {url:?}: {err}"))?;
        let host = uri
            .host()
            .ok_or_else(|| anyhow::anyhow!("endpoint {url:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        targets.push((url.to_owned(), host, port));
    }
    if targets.is_empty() {
        anyhow::bail!("no endpoint given");
    }
    Ok(targets)
}

/// Keeps the balanced channel's endpoints equal to what the names resolve
/// to, until the channel is dropped.
async fn follow_dns(
    tls: TlsConfig,
    targets: Vec<(String, String, u16)>,
    configure: impl Fn(Endpoint) -> Endpoint,
    changes: Sender<Change<SocketAddr, Endpoint>>,
    resolve: Resolver,
) {
    let mut current: HashSet<SocketAddr> = HashSet::new();
    let https = targets
        .iter()
        .any(|(url, _, _)| url.starts_with("https://"));
    let files = if https {
        crate::tls::client::ClientFiles::of(&tls).ok()
    } else {
        None
    };
    let mut seen = files.as_ref().map(|f| f.fingerprint());
    loop {
        let mut found = HashSet::new();
        for (url, host, port) in &targets {
            match resolve(host.clone(), *port).await {
                Ok(addrs) => found.extend(addrs.into_iter().map(|a| (a, url.clone()))),
                Err(err) => tracing::warn!(%url, %err, "cannot resolve a peer's address"),
            }
        }
        // A failed lookup keeps what was known: DNS trouble must not drop
        // every connection that still works.
        if !found.is_empty() {
            let now = files.as_ref().map(|f| f.fingerprint());
            if now != seen {
                seen = now;
                // Unusable new files (half written, wrong format) keep the
                // connections that work; a later change is tried again.
                match targets
                    .iter()
                    .try_for_each(|(url, _, _)| tls.endpoint(url).map(drop))
                {
                    Err(err) => tracing::error!(
                        err = %format!("{err:#}"),
                        "cannot load the renewed client TLS files; keeping the connections in use"
                    ),
                    Ok(()) => {
                        // Renewed certificate files: every endpoint is
                        // rebuilt below.
                        tracing::info!("client TLS files changed; reconnecting to peers with them");
                        for old in current.drain() {
                            if changes.send(Change::Remove(old)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
            let addrs: HashSet<SocketAddr> = found.iter().map(|(a, _)| *a).collect();
            for gone in current.difference(&addrs) {
                if changes.send(Change::Remove(*gone)).await.is_err() {
                    return;
                }
            }
            for (addr, url) in &found {
                if current.contains(addr) {
                    continue;
                }
                match tls.endpoint_at(url, *addr) {
                    Ok(endpoint) => {
                        if changes
                            .send(Change::Insert(*addr, configure(endpoint)))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(err) => tracing::error!(%url, %addr, %err, "cannot build an endpoint"),
                }
            }
            if addrs != current {
                tracing::info!(peers = addrs.len(), "peer addresses changed");
            }
            current = addrs;
        }
        let pause = if current.is_empty() {
            RESOLVE_RETRY
        } else if https {
            RESOLVE_EVERY.min(tls.reload_every())
        } else {
            RESOLVE_EVERY
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = changes.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_need_a_host() {
        let t = targets("http://a:1, http://b:2,https://c").expect("targets");
        assert_eq!(
            t.iter()
                .map(|(_, h, p)| (h.as_str(), *p))
                .collect::<Vec<_>>(),
            vec![("a", 1), ("b", 2), ("c", 443)]
        );
        assert!(targets("").is_err());
        assert!(targets("http://").is_err());
    }
}
