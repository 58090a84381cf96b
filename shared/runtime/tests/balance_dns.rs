//! Issue #20, item 7, through one name: a headless Service is one DNS name
//! with one address per ready pod. Three servers listen on the same port at
//! 127.0.0.1, 127.0.0.2 and 127.0.0.3 (all loopback), one name resolves to
//! the three, and the balanced channel spreads calls over all of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_runtime::balance::{Resolver, channel_resolved_by};
use academy_runtime::tls::TlsConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A health server on `ip:port` that counts the calls it answers.
async fn counted_server(ip: &str, port: u16) -> Arc<AtomicUsize> {
    let listener = TcpListener::bind(format!("{ip}:{port}")).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .layer(tower::util::MapRequestLayer::new(
                move |req: http::Request<tonic::body::Body>| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    req
                },
            ))
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    calls
}

#[tokio::test]
async fn one_name_with_three_addresses_spreads_calls_over_all() {
    // A port free on 127.0.0.1 is taken on all three addresses.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let ips = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    let mut counts = Vec::new();
    for ip in ips {
        counts.push(counted_server(ip, port).await);
    }
    let table: Vec<SocketAddr> = ips
        .iter()
        .map(|ip| format!("{ip}:{port}").parse().unwrap())
        .collect();
    let asked = Arc::new(AtomicUsize::new(0));
    let resolve: Resolver = {
        let asked = asked.clone();
        Arc::new(move |host: String, _port: u16| {
            asked.fetch_add(1, Ordering::Relaxed);
            let table = table.clone();
            Box::pin(async move {
                // Only the Service's name resolves, as in a cluster.
                if host == "course.academy.svc" {
                    Ok(table)
                } else {
                    Err(std::io::Error::other(format!("no such host {host}")))
                }
            })
        })
    };
    let channel = channel_resolved_by(
        &TlsConfig::default(),
        &format!("http://course.academy.svc:{port}"),
        |e| e.timeout(Duration::from_secs(5)),
        resolve,
    )
    .unwrap();
    let mut client = HealthClient::new(channel);
    for _ in 0..90 {
        client.check(HealthCheckRequest::default()).await.unwrap();
    }
    let answered: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert_eq!(answered.iter().sum::<usize>(), 90, "{answered:?}");
    assert!(
        answered.iter().all(|&n| n > 0),
        "every address behind the name answers some calls: {answered:?}"
    );
    assert!(asked.load(Ordering::Relaxed) >= 1);
}
