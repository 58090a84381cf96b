//! The real `academy-learner` and `academy-course` binaries together: Enroll
//! crosses the process boundary, and a course service that goes away gives
//! UNAVAILABLE quickly with nothing written, then recovers without restarts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::ServiceProcess;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EmploymentStatus, EnrollRequest, Gender, Learner, ListEnrollmentsRequest,
    RegisterLearnerRequest,
};
use std::time::{Duration, Instant};
use tonic::Code;

async fn published_course(course: &ServiceProcess, code: &str) -> String {
    academy_e2e::published_course(course.channel().await, code, 1)
        .await
        .0
}

#[tokio::test]
async fn enroll_survives_the_course_service_going_away_and_coming_back() {
    let mut course = ServiceProcess::start("academy-course", &[]).await;
    let endpoint = course.endpoint();
    let learner = ServiceProcess::start(
        "academy-learner",
        &[
            ("ACADEMY_COURSE_ENDPOINT", &endpoint),
            ("ACADEMY_COURSE_TIMEOUT_MS", "1000"),
        ],
    )
    .await;
    let course_id = published_course(&course, "CY-1").await;
    let learner_id = LearnerServiceClient::new(learner.channel().await)
        .register_learner(RegisterLearnerRequest {
            learner: Some(Learner {
                email: "kamran@example.az".into(),
                full_name: "Kamran Aliyev".into(),
                region: "Shaki-Zagatala".into(),
                gender: Gender::Male as i32,
                birth_year: 1990,
                employment_status: EmploymentStatus::SelfEmployed as i32,
                ..Default::default()
            }),
            request_id: String::new(),
            registered_at: None,
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let mut enrollments = EnrollmentServiceClient::new(learner.channel().await);
    let enroll = EnrollRequest {
        learner_id: learner_id.clone(),
        course_id: course_id.clone(),
        request_id: "e2e-enroll-1".into(),
        ..Default::default()
    };

    // Course service gone: UNAVAILABLE within the deadline, nothing written.
    course.child.kill().await.unwrap();
    let started = Instant::now();
    let status = enrollments.enroll(enroll.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed fast: {:?}",
        started.elapsed()
    );
    let listed = enrollments
        .list_enrollments(ListEnrollmentsRequest {
            learner_id: learner_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.enrollments.is_empty(), "nothing written");

    // Back on the same address with the same data: the retry succeeds.
    let data_dir = std::mem::replace(&mut course.data_dir, tempfile::tempdir().unwrap());
    let _course = ServiceProcess::start_at("academy-course", course.addr, data_dir, &[]).await;
    let enrolled = enrollments
        .enroll(enroll.clone())
        .await
        .unwrap()
        .into_inner();
    let again = enrollments.enroll(enroll).await.unwrap().into_inner();
    assert_eq!(
        enrolled.id, again.id,
        "the retried request id returns the first enrollment"
    );
}
