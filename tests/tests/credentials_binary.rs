//! Issue #20, item 1, on the real binaries with auth on: learner signs its
//! own ES256 tokens for course (a key it holds; course verifies them through
//! its JWKS), so Enroll works with no token Secret to renew; and when course
//! refuses learner's credentials, Enroll answers UNAVAILABLE (retryable),
//! never INTERNAL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, StackEnv, enroll, learner, publish, register, token};
use academy_proto::course::Course;
use academy_runtime::auth::scope;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey};
use tonic::Code;

const SECRET: &str = "a-local-secret-of-at-least-32-characters";
/// A key made for this test only (openssl genpkey, P-256).
const LEARNER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+JUyiNZGt4WUzkLO\nJH9cW+902zAjmoZib/59Ji2NHROhRANCAASmzv+l/JXf8zZ4CNRNDzZMdxDza9N9\n8ZuIHcxLoaB+MgfnN9P9IZjOwzqXyROs/odUY81Z7AdPGd2IYT1LyMjs\n-----END PRIVATE KEY-----";

/// Registers a learner and tries to enroll it in a new published course.
async fn enroll_in_new_course(
    course: &ServiceProcess,
    learner_service: &ServiceProcess,
    n: u32,
) -> Result<(), tonic::Status> {
    let admin = token(SECRET, "e2e", &scope::ALL);
    let created = publish(
        course.channel().await,
        Some(&admin),
        Course {
            title: "Credentials".into(),
            estimated_hours: 1.0,
            ..academy_e2e::course(&format!("CRED-{n}"), 1)
        },
    )
    .await;
    let email = format!("cred{n}@example.az");
    let channel = learner_service.channel().await;
    let registered = register(channel.clone(), Some(&admin), learner(&email, "Cred Probe")).await;
    enroll(channel, Some(&admin), &registered.id, &created.id)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn learner_signs_its_own_tokens_and_a_refused_credential_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("learner.pem");
    std::fs::write(&key_path, LEARNER_KEY).unwrap();
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let key = EncodingKey::from_ec_pem(LEARNER_KEY.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("learner-1".into());
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(
        &jwks_path,
        serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap(),
    )
    .unwrap();

    let auth = [
        ("ACADEMY_AUTH_DISABLED", "false"),
        ("ACADEMY_AUTH_HS256_SECRET", SECRET),
    ];
    let (course, signing) = StackEnv {
        common: &auth,
        course: &[("ACADEMY_AUTH_JWKS_FILE", jwks_path.to_str().unwrap())],
        learner: &[
            ("ACADEMY_AUTH_SIGNING_KEY_FILE", key_path.to_str().unwrap()),
            ("ACADEMY_AUTH_SIGNING_KEY_ID", "learner-1"),
        ],
        ..Default::default()
    }
    .start_course_and_learner()
    .await;
    enroll_in_new_course(&course, &signing, 1)
        .await
        .expect("enrolls with a self-signed token");

    // A credential course does not accept (signed with another key): the
    // caller sees UNAVAILABLE, which it may retry, not INTERNAL.
    let foreign = token(
        "another-secret-of-at-least-32-characters",
        "service:learner",
        &[scope::CATALOG_READ],
    );
    let token_path = dir.path().join("token");
    std::fs::write(&token_path, foreign).unwrap();
    let course_url = course.endpoint();
    let refused_env = [
        ("ACADEMY_AUTH_TOKEN_FILE", token_path.to_str().unwrap()),
        ("ACADEMY_COURSE_ENDPOINT", &course_url),
        ("ACADEMY_LOG", "error"),
    ];
    let refused =
        ServiceProcess::start("academy-learner", &[&auth[..], &refused_env].concat()).await;
    let status = enroll_in_new_course(&course, &refused, 2)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
