//! The real `academy-learner` and `academy-course` binaries together: Enroll
//! crosses the process boundary, and a course service that goes away gives
//! UNAVAILABLE quickly with nothing written, then recovers without restarts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{StackEnv, published_course, register};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::{EnrollRequest, ListEnrollmentsRequest};
use std::time::{Duration, Instant};
use tonic::Code;

#[tokio::test]
async fn enroll_survives_the_course_service_going_away_and_coming_back() {
    let (mut course, learner) = StackEnv {
        learner: &[("ACADEMY_COURSE_TIMEOUT_MS", "1000")],
        ..Default::default()
    }
    .start_course_and_learner()
    .await;
    let (course_id, _) = published_course(course.channel().await, "CY-1", 1).await;
    let kamran = academy_e2e::learner("kamran@example.az", "Kamran Aliyev");
    let learner_id = register(learner.channel().await, None, kamran).await.id;
    let mut enrollments = EnrollmentServiceClient::new(learner.channel().await);
    let enroll = EnrollRequest {
        learner_id: learner_id.clone(),
        course_id: course_id.clone(),
        request_id: "e2e-enroll-1".into(),
        ..Default::default()
    };

    // Course service gone: UNAVAILABLE within the deadline, nothing written.
    course.kill().await;
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
    course.restart().await;
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
