//! Issue #20, item 1, on the real binaries with auth on: learner signs its
//! own ES256 tokens for course (a key it holds; course verifies them through
//! its JWKS), so Enroll works with no token Secret to renew; and when course
//! refuses learner's credentials, Enroll answers UNAVAILABLE (retryable),
//! never INTERNAL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::ServiceProcess;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{
    Course, CourseLevel, CourseModule, CreateCourseRequest, PublishCourseRequest,
};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EmploymentStatus, EnrollRequest, Gender, Learner, RegisterLearnerRequest,
};
use academy_runtime::auth::{mint, scope};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey};
use std::time::Duration;
use tonic::Code;

const SECRET: &str = "a-local-secret-of-at-least-32-characters";
/// A key made for this test only (openssl genpkey, P-256).
const LEARNER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+JUyiNZGt4WUzkLO\nJH9cW+902zAjmoZib/59Ji2NHROhRANCAASmzv+l/JXf8zZ4CNRNDzZMdxDza9N9\n8ZuIHcxLoaB+MgfnN9P9IZjOwzqXyROs/odUY81Z7AdPGd2IYT1LyMjs\n-----END PRIVATE KEY-----";

fn request<T>(message: T) -> tonic::Request<T> {
    let token = mint(
        SECRET,
        "academy",
        "academy",
        "e2e",
        &scope::ALL,
        Duration::from_secs(600),
    )
    .unwrap();
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Registers a learner and tries to enroll it in a new published course.
async fn enroll(
    course: &ServiceProcess,
    learner: &ServiceProcess,
    n: u32,
) -> Result<(), tonic::Status> {
    let mut courses = CourseServiceClient::new(course.channel().await);
    let created = courses
        .create_course(request(CreateCourseRequest {
            course: Some(Course {
                code: format!("CRED-{n}"),
                title: "Credentials".into(),
                provider: "Coursera".into(),
                language: "az".into(),
                level: CourseLevel::Beginner as i32,
                estimated_hours: 1.0,
                modules: vec![CourseModule {
                    title: "One".into(),
                    estimated_minutes: 30,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    courses
        .publish_course(request(PublishCourseRequest {
            id: created.id.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();
    let mut learners = LearnerServiceClient::new(learner.channel().await);
    let registered = learners
        .register_learner(request(RegisterLearnerRequest {
            learner: Some(Learner {
                email: format!("cred{n}@example.az"),
                full_name: "Cred Probe".into(),
                region: "Baku".into(),
                gender: Gender::Female as i32,
                birth_year: 1990,
                employment_status: EmploymentStatus::Employed as i32,
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    EnrollmentServiceClient::new(learner.channel().await)
        .enroll(request(EnrollRequest {
            learner_id: registered.id,
            course_id: created.id,
            ..Default::default()
        }))
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

    let course = ServiceProcess::start(
        "academy-course",
        &[
            ("ACADEMY_AUTH_DISABLED", "false"),
            ("ACADEMY_AUTH_HS256_SECRET", SECRET),
            ("ACADEMY_AUTH_JWKS_FILE", jwks_path.to_str().unwrap()),
        ],
    )
    .await;
    let signing = ServiceProcess::start(
        "academy-learner",
        &[
            ("ACADEMY_AUTH_DISABLED", "false"),
            ("ACADEMY_AUTH_HS256_SECRET", SECRET),
            ("ACADEMY_AUTH_SIGNING_KEY_FILE", key_path.to_str().unwrap()),
            ("ACADEMY_AUTH_SIGNING_KEY_ID", "learner-1"),
            ("ACADEMY_COURSE_ENDPOINT", &course.endpoint()),
        ],
    )
    .await;
    enroll(&course, &signing, 1)
        .await
        .expect("enrolls with a self-signed token");

    // A credential course does not accept (signed with another key): the
    // caller sees UNAVAILABLE, which it may retry, not INTERNAL.
    let foreign = mint(
        "another-secret-of-at-least-32-characters",
        "academy",
        "academy",
        "service:learner",
        &[scope::CATALOG_READ],
        Duration::from_secs(600),
    )
    .unwrap();
    let token_path = dir.path().join("token");
    std::fs::write(&token_path, foreign).unwrap();
    let refused = ServiceProcess::start(
        "academy-learner",
        &[
            ("ACADEMY_AUTH_DISABLED", "false"),
            ("ACADEMY_AUTH_HS256_SECRET", SECRET),
            ("ACADEMY_AUTH_TOKEN_FILE", token_path.to_str().unwrap()),
            ("ACADEMY_COURSE_ENDPOINT", &course.endpoint()),
            ("ACADEMY_LOG", "error"),
        ],
    )
    .await;
    let status = enroll(&course, &refused, 2).await.expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
