use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use prost_types::Timestamp;
use tonic::Code;

use crate::common::*;

on_both_backends!(
    progress_to_completion_issues_a_certificate,
    progress_errors_change_nothing,
    progress_with_request_id_counts_once,
    bulk_progress_has_per_row_results,
);

async fn progress_to_completion_issues_a_certificate(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "p@example.az").await;
    let course = course(&stack, "PR-1", 2, true).await;
    let (m1, m2) = (course.modules[0].id.clone(), course.modules[1].id.clone());
    let mut client = stack.enrollments().await;
    let enrollment = client
        .enroll(enroll(&learner.id, &course.id))
        .await
        .unwrap()
        .into_inner();

    let after_first = client
        .record_progress(progress(&enrollment.id, &m1, 30))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after_first.state, EnrollmentState::InProgress as i32);
    assert_eq!(
        (after_first.progress_percent, after_first.minutes_spent),
        (50, 30)
    );
    let repeated = client
        .record_progress(progress(&enrollment.id, &m1, 15))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (repeated.progress_percent, repeated.minutes_spent),
        (50, 45),
        "minutes add, completion does not"
    );
    assert_eq!(repeated.completed_module_ids, std::slice::from_ref(&m1));

    let done = client
        .record_progress(progress(&enrollment.id, &m2, 20))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.state, EnrollmentState::Completed as i32);
    assert_eq!((done.progress_percent, done.minutes_spent), (100, 65));
    assert!(done.complete_time.is_some());

    let certificates = client
        .list_certificates(ListCertificatesRequest {
            learner_id: learner.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .certificates;
    assert_eq!(certificates.len(), 1);
    let certificate = &certificates[0];
    assert_eq!(
        (
            certificate.course_id.as_str(),
            certificate.enrollment_id.as_str()
        ),
        (course.id.as_str(), enrollment.id.as_str())
    );
    let verified = client
        .verify_certificate(VerifyCertificateRequest {
            code: certificate.code.to_lowercase(),
        })
        .await
        .unwrap()
        .into_inner();
    // The learner's name and the course title, nothing else (#15 item 6).
    assert_eq!(
        verified,
        Certificate {
            learner_name: learner.full_name.clone(),
            course_title: course.title.clone(),
            ..Default::default()
        }
    );
    assert!(!verified.learner_name.is_empty() && !verified.course_title.is_empty());
    expect_code(
        client
            .verify_certificate(VerifyCertificateRequest {
                code: "AZ-0000-0000-0000".into(),
            })
            .await,
        Code::NotFound,
    );
    let status = expect_code(
        client
            .verify_certificate(VerifyCertificateRequest { code: " ".into() })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["code"]);

    // Completed: later activity is still taken (learning hours, active
    // learners, issue #17); the completion and its certificate stay.
    let after = client
        .record_progress(progress(&enrollment.id, &m2, 5))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.state, EnrollmentState::Completed as i32);
    assert_eq!(after.minutes_spent, 70);
    assert_eq!(after.complete_time, done.complete_time);
    let certificates = client
        .list_certificates(ListCertificatesRequest {
            learner_id: learner.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .certificates;
    assert_eq!(
        certificates.len(),
        1,
        "one certificate, whatever comes after"
    );

    // Skills earned on completion, in the database.
    let conn = academy_runtime::db::connect(&stack.db.url).await.unwrap();
    use sea_orm::{ConnectionTrait, Statement};
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM earned_skills WHERE learner_id = '{}'",
                learner.id
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let earned: i64 = row.try_get("", "n").unwrap();
    assert_eq!(earned, course.skill_ids.len() as i64);
}

async fn progress_errors_change_nothing(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "err@example.az").await;
    let course = course(&stack, "PE-1", 2, true).await;
    let other = self::course(&stack, "PE-2", 1, true).await;
    let m1 = course.modules[0].id.clone();
    let mut client = stack.enrollments().await;
    let enrollment = client
        .enroll(enroll(&learner.id, &course.id))
        .await
        .unwrap()
        .into_inner();

    let status = expect_code(
        client
            .record_progress(progress(&enrollment.id, &other.modules[0].id, 5))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["module_id"]);
    for minutes in [-1, 10_001] {
        let status = expect_code(
            client
                .record_progress(progress(&enrollment.id, &m1, minutes))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(violated_fields(&status), ["minutes_spent"]);
    }
    let mut early = progress(&enrollment.id, &m1, 5);
    early.occurred_at = Some(Timestamp {
        seconds: 946_684_800,
        nanos: 0,
    }); // 2000
    let status = expect_code(client.record_progress(early).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["occurred_at"]);
    expect_code(
        client.record_progress(progress(UNKNOWN_ID, &m1, 5)).await,
        Code::NotFound,
    );

    client
        .withdraw_enrollment(WithdrawEnrollmentRequest {
            id: enrollment.id.clone(),
        })
        .await
        .unwrap();
    expect_code(
        client
            .record_progress(progress(&enrollment.id, &m1, 5))
            .await,
        Code::FailedPrecondition,
    );
    let fetched = client
        .get_enrollment(GetEnrollmentRequest { id: enrollment.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (fetched.minutes_spent, fetched.progress_percent),
        (0, 0),
        "nothing recorded"
    );
}

async fn progress_with_request_id_counts_once(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "once@example.az").await;
    let course = course(&stack, "PO-1", 3, true).await;
    let client = stack.enrollments().await;
    let enrollment = client
        .clone()
        .enroll(enroll(&learner.id, &course.id))
        .await
        .unwrap()
        .into_inner();
    let mut request = progress(&enrollment.id, &course.modules[0].id, 25);
    request.request_id = "progress-1".into();
    let attempts = (0..5).map(|_| {
        let mut client = client.clone();
        let request = request.clone();
        async move { client.record_progress(request).await }
    });
    for result in futures::future::join_all(attempts).await {
        result.expect("every retry succeeds");
    }
    let fetched = client
        .clone()
        .get_enrollment(GetEnrollmentRequest { id: enrollment.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.minutes_spent, 25, "minutes counted once");
}

async fn bulk_progress_has_per_row_results(db: TestDb) {
    let stack = Stack::start(db).await; // 7 rows per batch
    let course = course(&stack, "BP-1", 2, true).await;
    let (m1, m2) = (course.modules[0].id.clone(), course.modules[1].id.clone());
    let mut client = stack.enrollments().await;
    let mut rows = Vec::new();
    let mut enrollments = Vec::new();
    for i in 0..6 {
        let learner = registered(&stack, &format!("bp{i}@example.az")).await;
        let e = client
            .enroll(enroll(&learner.id, &course.id))
            .await
            .unwrap()
            .into_inner();
        let mut first = progress(&e.id, &m1, 10);
        first.request_id = format!("bp-{i}-1");
        rows.push(first);
        rows.push(progress(&e.id, &m2, 20));
        enrollments.push(e.id);
    }
    let mut again = progress(&enrollments[0], &m1, 10);
    again.request_id = "bp-0-1".into();
    rows.push(again); // 12: duplicate request id
    rows.push(progress(&enrollments[1], &m1, 5)); // 13: after completion: taken
    rows.push(progress(UNKNOWN_ID, &m1, 5)); // 14: unknown enrollment
    rows.push(progress(&enrollments[2], "bad", 5)); // 15: malformed module id
    let reply = client
        .bulk_record_progress(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((reply.recorded, reply.duplicates), (13, 1));
    assert_eq!(
        reply.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
        [14, 15]
    );
    assert_eq!(reply.rejected[1].field, "module_id");
    for (i, id) in enrollments.iter().enumerate() {
        let e = client
            .get_enrollment(GetEnrollmentRequest { id: id.clone() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (e.state, e.minutes_spent),
            (
                EnrollmentState::Completed as i32,
                if i == 1 { 35 } else { 30 }
            ),
            "{id}"
        );
    }
    let certificates = client
        .list_certificates(ListCertificatesRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .certificates;
    assert_eq!(certificates.len(), 6);
}
