//! The three real binaries with mutual TLS on every port: learner → course
//! and reporting → both feeds go over mTLS, a client with the right
//! certificate is served, and one without a certificate, with a certificate
//! from another CA, or speaking plaintext is refused. Health stays reachable
//! in plaintext on its own port (kubelet probes speak no TLS).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, enroll, free_port, register, source, wait_for_feeds};
use academy_proto::learner::Learner;
use academy_runtime::tls::TlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A certificate authority that signs leaf certificates into `dir`.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pem: PathBuf,
}

impl Authority {
    fn new(dir: &Path, name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        let pem = dir.join(format!("{name}.pem"));
        std::fs::write(&pem, cert.pem()).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// Writes `<name>.pem` and `<name>.key`, valid for 127.0.0.1 and
    /// localhost, usable to serve and to call (one identity per service).
    fn leaf(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

/// Environment for a service serving mTLS with `identity`, trusting `ca`.
fn tls_env(ca: &Path, identity: &(PathBuf, PathBuf), health: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ACADEMY_TLS_CERT_FILE", identity.0.display().to_string()),
        ("ACADEMY_TLS_KEY_FILE", identity.1.display().to_string()),
        ("ACADEMY_TLS_CLIENT_CA_FILE", ca.display().to_string()),
        ("ACADEMY_TLS_CA_FILE", ca.display().to_string()),
        ("ACADEMY_HEALTH_LISTEN", health.to_owned()),
    ]
}

async fn start(binary: &str, env: &[(&'static str, String)]) -> ServiceProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServiceProcess::start(binary, &env).await
}

fn https(service: &ServiceProcess) -> String {
    format!("https://127.0.0.1:{}", service.addr.port())
}

fn health_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// A channel to `url` as a client holding `identity` (or none) and
/// trusting `ca`; the error as text when the connection is refused.
async fn channel(
    url: &str,
    ca: &Path,
    identity: Option<&(PathBuf, PathBuf)>,
) -> Result<Channel, String> {
    let tls = TlsConfig {
        tls_ca_file: Some(ca.to_owned()),
        tls_cert_file: identity.map(|i| i.0.clone()),
        tls_key_file: identity.map(|i| i.1.clone()),
        ..TlsConfig::default()
    };
    tls.endpoint(url)
        .unwrap()
        .connect()
        .await
        .map_err(|err| format!("{err:?}"))
}

/// Whether a health check over `channel` (if it connected) is answered:
/// every server answers it on its gRPC port with no token, so only the
/// transport can refuse it.
async fn health_check(channel: Result<Channel, String>) -> Result<(), String> {
    HealthClient::new(channel?)
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
        .map_err(|status| format!("{status:?}"))
}

#[tokio::test]
async fn the_stack_runs_on_mutual_tls_and_refuses_clients_without_a_certificate() {
    let pki = tempfile::tempdir().unwrap();
    let ca = Authority::new(pki.path(), "academy-ca");
    let course_id = ca.leaf(pki.path(), "course");
    let learner_id = ca.leaf(pki.path(), "learner");
    let reporting_id = ca.leaf(pki.path(), "reporting");
    let operator = ca.leaf(pki.path(), "operator");
    let rogue_ca = Authority::new(pki.path(), "rogue-ca");
    let intruder = rogue_ca.leaf(pki.path(), "intruder");

    let course = start(
        "academy-course",
        &tls_env(&ca.pem, &course_id, &health_addr()),
    )
    .await;
    let mut learner_env = tls_env(&ca.pem, &learner_id, &health_addr());
    learner_env.push(("ACADEMY_COURSE_ENDPOINT", https(&course)));
    let learner = start("academy-learner", &learner_env).await;
    let mut reporting_env = tls_env(&ca.pem, &reporting_id, &health_addr());
    reporting_env.push(("ACADEMY_COURSE_ENDPOINT", https(&course)));
    reporting_env.push(("ACADEMY_LEARNER_ENDPOINT", https(&learner)));
    let reporting = start("academy-reporting", &reporting_env).await;
    // ServiceProcess::start has already seen all three SERVING on the
    // plaintext health ports.

    // A client with a certificate from the CA is served, and the learner
    // service's Enroll reaches the course service over mTLS.
    let operator_channel = channel(&https(&course), &ca.pem, Some(&operator))
        .await
        .expect("a client with a valid certificate connects");
    let (course_ref, _) = academy_e2e::published_course(operator_channel, "TLS-1", 1).await;
    let learners = channel(&https(&learner), &ca.pem, Some(&operator))
        .await
        .unwrap();
    let probe = Learner {
        birth_year: 1992,
        ..academy_e2e::learner("tls.probe@example.az", "Tls Probe")
    };
    let registered = register(learners.clone(), None, probe).await;
    enroll(learners, None, &registered.id, &course_ref)
        .await
        .expect("enroll: learner → course over mTLS");

    // Reporting follows both feeds over mTLS: both cursors reach the heads
    // (course: created + published; learner: registered + enrolled).
    let reports = channel(&https(&reporting), &ca.pem, Some(&operator))
        .await
        .unwrap();
    wait_for_feeds(
        reports,
        None,
        Duration::from_secs(30),
        "reporting did not catch up over mTLS",
        |sources| sources.len() == 2 && sources.iter().all(|s| s.applied_sequence >= 2),
    )
    .await;

    // On every gRPC port: served with a certificate from the CA; refused
    // with none, with one from another CA, and in plaintext.
    for service in [&course, &learner, &reporting] {
        let url = https(service);
        health_check(channel(&url, &ca.pem, Some(&operator)).await)
            .await
            .expect("a client with a valid certificate is served");
        let bare = health_check(channel(&url, &ca.pem, None).await).await;
        assert!(
            bare.is_err(),
            "{url}: a client without a certificate was served"
        );
        let rogue = health_check(channel(&url, &ca.pem, Some(&intruder)).await).await;
        assert!(
            rogue.is_err(),
            "{url}: a certificate from another CA was accepted"
        );
        let plain = Channel::from_shared(service.endpoint())
            .unwrap()
            .connect()
            .await
            .map_err(|err| format!("{err:?}"));
        assert!(
            health_check(plain).await.is_err(),
            "{url}: plaintext was served on the TLS port"
        );
    }
    // Health answers in plaintext on its own port.
    for service in [&course, &learner, &reporting] {
        assert_eq!(
            service.health().await,
            Some(tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
        );
    }
}

#[tokio::test]
async fn an_https_endpoint_without_a_ca_stops_the_service_at_start() {
    let output = tokio::process::Command::new(academy_e2e::binary("academy-learner"))
        .env("ACADEMY_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("ACADEMY_DATA_DIR", tempfile::tempdir().unwrap().path())
        .env("ACADEMY_AUTH_DISABLED", "true")
        .env("ACADEMY_COURSE_ENDPOINT", "https://127.0.0.1:1")
        .env_remove("ACADEMY_TLS_CA_FILE")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stderr.contains("ACADEMY_TLS_CA_FILE") || stdout.contains("ACADEMY_TLS_CA_FILE"),
        "the error does not say what to set: {stderr} {stdout}"
    );
}

/// Issue #20, item 8: a certificate renewed in place (as cert-manager does
/// to the mounted Secret) is served to new connections without a restart.
#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let pki = tempfile::tempdir().unwrap();
    let old_ca = Authority::new(pki.path(), "old-ca");
    let new_ca = Authority::new(pki.path(), "new-ca");
    let old_leaf = old_ca.leaf(pki.path(), "course-old");
    let new_leaf = new_ca.leaf(pki.path(), "course-new");
    // The files the service reads, rewritten in place below.
    let served = (pki.path().join("tls.crt"), pki.path().join("tls.key"));
    std::fs::copy(&old_leaf.0, &served.0).unwrap();
    std::fs::copy(&old_leaf.1, &served.1).unwrap();
    // Clients from either CA may call (a CA bundle during a CA rotation).
    let client_cas = pki.path().join("client-cas.pem");
    let bundle = format!(
        "{}{}",
        std::fs::read_to_string(&old_ca.pem).unwrap(),
        std::fs::read_to_string(&new_ca.pem).unwrap()
    );
    std::fs::write(&client_cas, bundle).unwrap();
    let health = health_addr();
    let mut env = tls_env(&client_cas, &served, &health);
    env.push(("ACADEMY_TLS_RELOAD_SECS", "1".to_owned()));
    let course = start("academy-course", &env).await;
    let url = https(&course);

    let trusts_old = || channel(&url, &old_ca.pem, Some(&old_leaf));
    let trusts_new = || channel(&url, &new_ca.pem, Some(&new_leaf));
    health_check(trusts_old().await)
        .await
        .expect("old certificate served");
    assert!(health_check(trusts_new().await).await.is_err());

    std::fs::copy(&new_leaf.0, &served.0).unwrap();
    std::fs::copy(&new_leaf.1, &served.1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while health_check(trusts_new().await).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        health_check(trusts_old().await).await.is_err(),
        "the old certificate is no longer served"
    );
}

/// Issue #20, item 8, the calling side: learner → course and reporting →
/// course feed pick up renewed client certificate files without a restart.
/// The course service trusts only the old CA for clients, then (after its
/// restart, which drops every connection) only the new one; the learner and
/// reporting certificate files are rewritten in place with certificates
/// from the new CA. The calls after the reconnect must present the new
/// certificates: with the files read only at start they would be refused
/// forever.
#[tokio::test]
async fn renewed_client_certificates_are_used_without_a_restart() {
    let pki = tempfile::tempdir().unwrap();
    let old_ca = Authority::new(pki.path(), "old-ca");
    let new_ca = Authority::new(pki.path(), "new-ca");
    // Servers are verified against both CAs all along (a CA bundle during
    // a CA rotation); the course service's client CA is what rotates.
    let bundle = pki.path().join("bundle.pem");
    std::fs::write(
        &bundle,
        format!(
            "{}{}",
            std::fs::read_to_string(&old_ca.pem).unwrap(),
            std::fs::read_to_string(&new_ca.pem).unwrap()
        ),
    )
    .unwrap();
    let course_clients = pki.path().join("course-clients.pem");
    std::fs::copy(&old_ca.pem, &course_clients).unwrap();
    let course_id = old_ca.leaf(pki.path(), "course");
    let operator_old = old_ca.leaf(pki.path(), "operator-old");
    let operator_new = new_ca.leaf(pki.path(), "operator-new");
    // The files learner and reporting read, rewritten in place below.
    let mounted = |name: &str, leaf: &(PathBuf, PathBuf)| {
        let files = (
            pki.path().join(format!("{name}.crt")),
            pki.path().join(format!("{name}.key")),
        );
        std::fs::copy(&leaf.0, &files.0).unwrap();
        std::fs::copy(&leaf.1, &files.1).unwrap();
        files
    };
    let learner_files = mounted("learner", &old_ca.leaf(pki.path(), "learner-old"));
    let reporting_files = mounted("reporting", &old_ca.leaf(pki.path(), "reporting-old"));
    let renew = |files: &(PathBuf, PathBuf), leaf: (PathBuf, PathBuf)| {
        std::fs::copy(&leaf.0, &files.0).unwrap();
        std::fs::copy(&leaf.1, &files.1).unwrap();
    };

    let mut course_env = tls_env(&course_clients, &course_id, &health_addr());
    course_env[3].1 = bundle.display().to_string();
    course_env.push(("ACADEMY_TLS_RELOAD_SECS", "1".to_owned()));
    let mut course = start("academy-course", &course_env).await;
    let mut learner_env = tls_env(&bundle, &learner_files, &health_addr());
    learner_env.push(("ACADEMY_COURSE_ENDPOINT", https(&course)));
    learner_env.push(("ACADEMY_TLS_RELOAD_SECS", "1".to_owned()));
    let learner = start("academy-learner", &learner_env).await;
    let mut reporting_env = tls_env(&bundle, &reporting_files, &health_addr());
    reporting_env.push(("ACADEMY_COURSE_ENDPOINT", https(&course)));
    reporting_env.push(("ACADEMY_LEARNER_ENDPOINT", https(&learner)));
    reporting_env.push(("ACADEMY_TLS_RELOAD_SECS", "1".to_owned()));
    let reporting = start("academy-reporting", &reporting_env).await;

    let learners = channel(&https(&learner), &bundle, Some(&operator_old))
        .await
        .unwrap();
    let registered = register(
        learners.clone(),
        None,
        academy_e2e::learner("tls.rotation@example.az", "Tls Rotation"),
    )
    .await;
    let reports = channel(&https(&reporting), &bundle, Some(&operator_old))
        .await
        .unwrap();

    // Before: old certificates everywhere.
    let courses = channel(&https(&course), &bundle, Some(&operator_old))
        .await
        .unwrap();
    let (first, _) = academy_e2e::published_course(courses, "ROT-1", 1).await;
    enroll(learners.clone(), None, &registered.id, &first)
        .await
        .expect("enroll with the old client certificate");

    // cert-manager renews the client certificates from the new CA, and the
    // course service now trusts only the new CA; its restart closes every
    // connection, so the next calls connect again.
    renew(&learner_files, new_ca.leaf(pki.path(), "learner-new"));
    renew(&reporting_files, new_ca.leaf(pki.path(), "reporting-new"));
    std::fs::copy(&new_ca.pem, &course_clients).unwrap();
    course.kill().await;
    course.restart().await;
    assert!(
        health_check(channel(&https(&course), &bundle, Some(&operator_old)).await)
            .await
            .is_err(),
        "the course service still accepts the old CA"
    );
    let courses = channel(&https(&course), &bundle, Some(&operator_new))
        .await
        .unwrap();
    let (second, _) = academy_e2e::published_course(courses, "ROT-2", 1).await;

    // After: learner → course presents the renewed certificate.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match enroll(learners.clone(), None, &registered.id, &second).await {
            Ok(_) => break,
            Err(status) => assert!(
                Instant::now() < deadline,
                "learner → course never used the renewed certificate: {status:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // And reporting follows the course feed again: created + published,
    // twice.
    wait_for_feeds(
        reports,
        None,
        Duration::from_secs(30),
        "reporting → course feed never used the renewed certificate",
        |sources| source(sources, "course").map_or(0, |s| s.applied_sequence) >= 4,
    )
    .await;
}
