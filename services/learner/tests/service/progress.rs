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
    let enrollment = enrolled(&stack, &learner.id, &course.id).await;
    let record = |module_id: &str, minutes: i32| {
        record_progress(&stack, progress(&enrollment.id, module_id, minutes))
    };

    let after_first = record(&m1, 30).await;
    assert_eq!(after_first.state, EnrollmentState::InProgress as i32);
    assert_eq!(
        (after_first.progress_percent, after_first.minutes_spent),
        (50, 30)
    );
    let repeated = record(&m1, 15).await;
    assert_eq!(
        (repeated.progress_percent, repeated.minutes_spent),
        (50, 45),
        "minutes add, completion does not"
    );
    assert_eq!(repeated.completed_module_ids, std::slice::from_ref(&m1));

    let done = record(&m2, 20).await;
    assert_eq!(done.state, EnrollmentState::Completed as i32);
    assert_eq!((done.progress_percent, done.minutes_spent), (100, 65));
    assert!(done.complete_time.is_some());

    let certificates = certificates_of(&stack, &learner.id).await;
    assert_eq!(certificates.len(), 1);
    let certificate = &certificates[0];
    assert_eq!(
        (
            certificate.course_id.as_str(),
            certificate.enrollment_id.as_str()
        ),
        (course.id.as_str(), enrollment.id.as_str())
    );
    let verify = |code: &str| VerifyCertificateRequest { code: code.into() };
    let lowercase = verify(&certificate.code.to_lowercase());
    let verified = client
        .verify_certificate(lowercase)
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
    let unknown = client.verify_certificate(verify("AZ-0000-0000-0000")).await;
    expect_code(unknown, Code::NotFound);
    expect_invalid(client.verify_certificate(verify(" ")).await, &["code"]);

    // Completed: later activity is still taken (learning hours, active
    // learners, issue #17); the completion and its certificate stay.
    let after = record(&m2, 5).await;
    assert_eq!(after.state, EnrollmentState::Completed as i32);
    assert_eq!(after.minutes_spent, 70);
    assert_eq!(after.complete_time, done.complete_time);
    let certificates = certificates_of(&stack, &learner.id).await;
    assert_eq!(
        certificates.len(),
        1,
        "one certificate, whatever comes after"
    );

    // Skills earned on completion, in the database.
    let sql = format!(
        "SELECT COUNT(*) AS n FROM earned_skills WHERE learner_id = '{}'",
        learner.id
    );
    let rows = sql_rows(&stack, &sql).await;
    let earned: i64 = rows[0].try_get("", "n").unwrap();
    assert_eq!(earned, course.skill_ids.len() as i64);
}

async fn progress_errors_change_nothing(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "err@example.az").await;
    let course = course(&stack, "PE-1", 2, true).await;
    let other = self::course(&stack, "PE-2", 1, true).await;
    let m1 = course.modules[0].id.clone();
    let mut client = stack.enrollments().await;
    let enrollment = enrolled(&stack, &learner.id, &course.id).await;

    let foreign_module = progress(&enrollment.id, &other.modules[0].id, 5);
    expect_invalid(client.record_progress(foreign_module).await, &["module_id"]);
    for minutes in [-1, 10_001] {
        let request = progress(&enrollment.id, &m1, minutes);
        expect_invalid(client.record_progress(request).await, &["minutes_spent"]);
    }
    let mut early = progress(&enrollment.id, &m1, 5);
    early.occurred_at = Some(Timestamp {
        seconds: 946_684_800,
        nanos: 0,
    }); // 2000
    expect_invalid(client.record_progress(early).await, &["occurred_at"]);
    expect_code(
        client.record_progress(progress(UNKNOWN_ID, &m1, 5)).await,
        Code::NotFound,
    );

    let withdraw = WithdrawEnrollmentRequest {
        id: enrollment.id.clone(),
    };
    client.withdraw_enrollment(withdraw).await.unwrap();
    let withdrawn = progress(&enrollment.id, &m1, 5);
    expect_code(
        client.record_progress(withdrawn).await,
        Code::FailedPrecondition,
    );
    let fetched = get_enrollment(&stack, &enrollment.id).await;
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
    let enrollment = enrolled(&stack, &learner.id, &course.id).await;
    let mut request = progress(&enrollment.id, &course.modules[0].id, 25);
    request.request_id = "progress-1".into();
    retries_succeed(5, || {
        let (mut client, request) = (client.clone(), request.clone());
        async move { client.record_progress(request).await }
    })
    .await;
    let fetched = get_enrollment(&stack, &enrollment.id).await;
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
        let e = enrolled(&stack, &learner.id, &course.id).await;
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
    assert_eq!(rejected_indexes(&reply.rejected), [14, 15]);
    assert_eq!(reply.rejected[1].field, "module_id");
    for (i, id) in enrollments.iter().enumerate() {
        let e = get_enrollment(&stack, id).await;
        assert_eq!(
            (e.state, e.minutes_spent),
            (
                EnrollmentState::Completed as i32,
                if i == 1 { 35 } else { 30 }
            ),
            "{id}"
        );
    }
    let every = ListCertificatesRequest {
        page_size: 100,
        ..Default::default()
    };
    let certificates = client.list_certificates(every).await.unwrap().into_inner();
    assert_eq!(certificates.certificates.len(), 6);
}
