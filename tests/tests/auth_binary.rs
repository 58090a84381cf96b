//! Auth on the real binaries: every method of every service, walked from
//! the contract's descriptors, refuses a call without a token
//! (UNAUTHENTICATED) and with a token holding every scope but its own
//! (PERMISSION_DENIED), and admits one holding just its own scope. Health
//! stays open and reflection takes any valid token; services reach each
//! other with their own least-scope tokens; a binary with no key refuses
//! to start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{ServiceProcess, binary};
use academy_runtime::auth::{mint, scope};
use prost::Message;
use std::collections::HashMap;
use std::time::Duration;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

const SECRET: &str = "e2e-auth-secret-e2e-auth-secret-0123456";
const AUTH_ON: [(&str, &str); 2] = [
    ("ACADEMY_AUTH_DISABLED", "false"),
    ("ACADEMY_AUTH_HS256_SECRET", SECRET),
];

fn token(scopes: &[&str], ttl: Duration) -> String {
    mint(SECRET, "academy", "academy", "e2e", scopes, ttl).unwrap()
}

/// Calls `path` with an empty message (zero bytes decode as any message's
/// defaults) and returns the status code, whether it comes at once or as
/// the first item of a stream.
async fn call(channel: Channel, path: &str, bearer: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(tokio_stream::iter([()]));
    request.set_timeout(Duration::from_secs(5));
    if let Some(token) = bearer {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = PathAndQuery::try_from(path.to_owned()).unwrap();
    match grpc.streaming(request, path, codec).await {
        Err(status) => status.code(),
        Ok(response) => {
            let mut stream = response.into_inner();
            // A feed subscription stays open: a quiet stream was admitted.
            match tokio::time::timeout(Duration::from_millis(500), stream.message()).await {
                Ok(Err(status)) => status.code(),
                _ => Code::Ok,
            }
        }
    }
}

/// Every method path of the named services, from the contract.
fn methods(services: &[&str]) -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(academy_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut paths = Vec::new();
    for file in &set.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            if services.contains(&full.as_str()) {
                paths.extend(
                    service
                        .method
                        .iter()
                        .map(|m| format!("/{full}/{}", m.name())),
                );
            }
        }
    }
    paths
}

fn table(service: &str, entries: &[(&str, &'static str)]) -> HashMap<String, &'static str> {
    entries
        .iter()
        .map(|(method, scope)| (format!("/{service}/{method}"), *scope))
        .collect()
}

async fn walk(
    process: &ServiceProcess,
    services: &[&str],
    scopes: &HashMap<String, &'static str>,
) -> usize {
    let paths = methods(services);
    assert!(!paths.is_empty());
    for path in &paths {
        let needed = scopes[path];
        let others: Vec<&str> = scope::ALL
            .iter()
            .copied()
            .filter(|s| *s != needed)
            .collect();
        let channel = process.channel().await;
        assert_eq!(
            call(channel.clone(), path, None).await,
            Code::Unauthenticated,
            "{path} without a token"
        );
        let wrong = token(&others, Duration::from_secs(300));
        assert_eq!(
            call(channel.clone(), path, Some(&wrong)).await,
            Code::PermissionDenied,
            "{path} without {needed}"
        );
        let right = token(&[needed], Duration::from_secs(300));
        let code = call(channel, path, Some(&right)).await;
        assert!(
            !matches!(
                code,
                Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
            ),
            "{path} with {needed}: {code:?}"
        );
    }
    paths.len()
}

#[tokio::test]
async fn every_method_of_every_service_checks_token_and_scope() {
    use academy_proto::audit::audit_service_server::SERVICE_NAME as AUDIT;
    use academy_proto::course::course_service_server::SERVICE_NAME as COURSE;
    use academy_proto::events::event_feed_server::SERVICE_NAME as FEED;
    use academy_proto::learner::enrollment_service_server::SERVICE_NAME as ENROLLMENT;
    use academy_proto::learner::invitation_service_server::SERVICE_NAME as INVITATION;
    use academy_proto::learner::learner_service_server::SERVICE_NAME as LEARNER;
    use academy_proto::reporting::reporting_service_server::SERVICE_NAME as REPORTING;
    use academy_runtime::audit::service::SCOPES as AUDIT_SCOPES;
    use academy_runtime::feed::service::SCOPES as FEED_SCOPES;

    let course = ServiceProcess::start("academy-course", &AUTH_ON).await;
    let course_url = course.endpoint();
    let learner_env = [
        AUTH_ON[0],
        AUTH_ON[1],
        ("ACADEMY_COURSE_ENDPOINT", course_url.as_str()),
    ];
    let learner = ServiceProcess::start("academy-learner", &learner_env).await;
    let learner_url = learner.endpoint();
    let reporting_env = [
        AUTH_ON[0],
        AUTH_ON[1],
        ("ACADEMY_COURSE_ENDPOINT", course_url.as_str()),
        ("ACADEMY_LEARNER_ENDPOINT", learner_url.as_str()),
    ];
    let reporting = ServiceProcess::start("academy-reporting", &reporting_env).await;

    let mut course_scopes = table(COURSE, academy_course::scopes::COURSE_SERVICE);
    course_scopes.extend(table(FEED, FEED_SCOPES));
    course_scopes.extend(table(AUDIT, AUDIT_SCOPES));
    let mut learner_scopes = table(LEARNER, academy_learner::scopes::LEARNER_SERVICE);
    learner_scopes.extend(table(
        ENROLLMENT,
        academy_learner::scopes::ENROLLMENT_SERVICE,
    ));
    learner_scopes.extend(table(
        INVITATION,
        academy_learner::scopes::INVITATION_SERVICE,
    ));
    learner_scopes.extend(table(FEED, FEED_SCOPES));
    learner_scopes.extend(table(AUDIT, AUDIT_SCOPES));
    let mut reporting_scopes = table(REPORTING, academy_reporting::scopes::REPORTING_SERVICE);
    reporting_scopes.extend(table(AUDIT, AUDIT_SCOPES));

    let walked = walk(&course, &[COURSE, FEED, AUDIT], &course_scopes).await
        + walk(
            &learner,
            &[LEARNER, ENROLLMENT, INVITATION, FEED, AUDIT],
            &learner_scopes,
        )
        .await
        + walk(&reporting, &[REPORTING, AUDIT], &reporting_scopes).await;
    println!("walked {walked} methods × (no token, wrong scope, right scope)");
    // Per binary: its own services, the feed where it produces one, and the
    // audit log everywhere. Reporting: 7 reports and admin methods, 6 of
    // published results (publish, get, list, compare, set and list targets),
    // GetCrossTab. Issue #17 added LookupCourse (course) and LookupLearner,
    // SyncLearners (learner); issue #19 FindDuplicateLearners, MergeLearners;
    // issue #17 item 4 the 5 methods of InvitationService (learner).
    assert_eq!(
        walked,
        (13 + 2 + 1) + (10 + 9 + 5 + 2 + 1) + (7 + 6 + 1 + 1)
    );

    // Health stays open to probes; reflection takes any valid token
    // (here one whose only scope opens nothing on these services).
    let any = token(&[scope::CERTIFICATES_VERIFY], Duration::from_secs(300));
    for process in [&course, &learner, &reporting] {
        let channel = process.channel().await;
        assert_eq!(
            call(channel.clone(), "/grpc.health.v1.Health/Check", None).await,
            Code::Ok
        );
        for reflection in [
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert_eq!(
                call(channel.clone(), reflection, None).await,
                Code::Unauthenticated,
                "{reflection} without a token"
            );
            // Admitted: the reflection service itself then refuses the
            // empty request.
            assert_eq!(
                call(channel.clone(), reflection, Some(&any)).await,
                Code::InvalidArgument,
                "{reflection} with a token"
            );
        }
    }

    // VerifyCertificate has a scope of its own: `learners.read` (every
    // learner's personal data) does not open it, `certificates.verify`
    // (which opens nothing else) does.
    let verify = "/academy.learner.v1.EnrollmentService/VerifyCertificate";
    let reader = token(&[scope::LEARNERS_READ], Duration::from_secs(300));
    assert_eq!(
        call(learner.channel().await, verify, Some(&reader)).await,
        Code::PermissionDenied
    );
    let verifier = token(&[scope::CERTIFICATES_VERIFY], Duration::from_secs(300));
    assert_eq!(
        call(learner.channel().await, verify, Some(&verifier)).await,
        Code::InvalidArgument,
        "admitted; the empty code is then refused"
    );

    // Reporting follows both feeds with its own events.read token.
    let mut client =
        academy_proto::reporting::reporting_service_client::ReportingServiceClient::new(
            reporting.channel().await,
        );
    let all = token(&scope::ALL, Duration::from_secs(300));
    let mut healthy = false;
    for _ in 0..50 {
        let mut request = tonic::Request::new(academy_proto::reporting::GetFeedStatusRequest {});
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {all}").parse().unwrap());
        let sources = client
            .get_feed_status(request)
            .await
            .unwrap()
            .into_inner()
            .sources;
        healthy = sources.len() == 2 && sources.iter().all(|s| s.healthy);
        if healthy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(healthy, "reporting is connected to both feeds");
}

#[tokio::test]
async fn expired_forged_and_foreign_tokens_are_refused() {
    let course = ServiceProcess::start("academy-course", &AUTH_ON).await;
    let path = "/academy.course.v1.CourseService/ListCourses";
    let channel = course.channel().await;
    let now = chrono::Utc::now().timestamp();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &academy_runtime::auth::Claims {
            sub: "e2e".into(),
            iss: "academy".into(),
            aud: "academy".into(),
            iat: now - 7200,
            nbf: now - 7200,
            exp: now - 3600,
            scope: "catalog.read".into(),
            data: Default::default(),
        },
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let foreign = mint(
        "another-key-another-key-another-key-0000",
        "academy",
        "academy",
        "x",
        &["catalog.read"],
        Duration::from_secs(60),
    )
    .unwrap();
    let other_audience = mint(
        SECRET,
        "academy",
        "someone-else",
        "x",
        &["catalog.read"],
        Duration::from_secs(60),
    )
    .unwrap();
    for bad in [
        expired.as_str(),
        &foreign,
        &other_audience,
        "garbage",
        "a.b.c",
    ] {
        assert_eq!(
            call(channel.clone(), path, Some(bad)).await,
            Code::Unauthenticated,
            "{bad}"
        );
    }
    let good = token(&["catalog.read"], Duration::from_secs(60));
    assert_eq!(call(channel, path, Some(&good)).await, Code::Ok);
}

#[tokio::test]
async fn a_service_without_a_key_refuses_to_start_unless_auth_is_disabled_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(binary("academy-course"))
        .env(
            "ACADEMY_LISTEN",
            format!("127.0.0.1:{}", academy_e2e::free_port()),
        )
        .env("ACADEMY_DATA_DIR", dir.path())
        .env_remove("ACADEMY_AUTH_HS256_SECRET")
        .env_remove("ACADEMY_AUTH_JWKS_FILE")
        .env_remove("ACADEMY_AUTH_DISABLED")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no token key configured"), "{stderr}");

    // Explicitly disabled: it serves, and says so loudly.
    let process =
        ServiceProcess::start("academy-course", &[("ACADEMY_AUTH_DISABLED", "true")]).await;
    assert_eq!(
        call(
            process.channel().await,
            "/academy.course.v1.CourseService/ListCourses",
            None
        )
        .await,
        Code::Ok
    );
}
