use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    enrolls_in_published_courses_only,
    one_active_enrollment_per_learner_and_course,
    enroll_is_idempotent_even_concurrently,
    course_service_down_is_unavailable_and_writes_nothing,
    lists_filters_and_withdraws,
);

async fn enrolls_in_published_courses_only(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "e@example.az").await;
    let published = course(&stack, "EN-1", 2, true).await;
    let draft = course(&stack, "EN-2", 2, false).await;
    let mut client = stack.enrollments().await;

    let enrolled = enrolled(&stack, &learner.id, &published.id).await;
    assert_eq!(enrolled.state, EnrollmentState::Enrolled as i32);
    assert_eq!(enrolled.progress_percent, 0);
    assert!(enrolled.enroll_time.is_some());
    let get = |id: &str| GetEnrollmentRequest { id: id.into() };
    let fetched = client.get_enrollment(get(&enrolled.id)).await.unwrap();
    assert_eq!(fetched.into_inner(), enrolled);

    expect_code(
        client.enroll(enroll(&learner.id, &draft.id)).await,
        Code::FailedPrecondition,
    );
    expect_code(
        client.enroll(enroll(&learner.id, UNKNOWN_ID)).await,
        Code::NotFound,
    );
    expect_code(
        client.enroll(enroll(UNKNOWN_ID, &published.id)).await,
        Code::NotFound,
    );
    let bad_ids = enroll("x", "");
    expect_invalid(client.enroll(bad_ids).await, &["learner_id", "course_id"]);
    expect_code(client.get_enrollment(get(UNKNOWN_ID)).await, Code::NotFound);

    // A program that does not include the course.
    let program = program(&stack, "Other program", 2020, &[]).await;
    let other = registered(&stack, "p@example.az").await;
    let mut request = enroll(&other.id, &published.id);
    request.program_id = program.id;
    expect_code(
        client.enroll(request.clone()).await,
        Code::FailedPrecondition,
    );
    request.program_id = UNKNOWN_ID.into();
    expect_code(client.enroll(request).await, Code::NotFound);
}

async fn one_active_enrollment_per_learner_and_course(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "once@example.az").await;
    let published = course(&stack, "ONE-1", 1, true).await;
    let mut client = stack.enrollments().await;
    let first = enrolled(&stack, &learner.id, &published.id).await;
    expect_code(
        client.enroll(enroll(&learner.id, &published.id)).await,
        Code::AlreadyExists,
    );
    let withdraw = WithdrawEnrollmentRequest {
        id: first.id.clone(),
    };
    client.withdraw_enrollment(withdraw).await.unwrap();
    let second = enrolled(&stack, &learner.id, &published.id).await;
    assert_ne!(
        second.id, first.id,
        "after withdrawal a new enrollment is allowed"
    );
}

async fn enroll_is_idempotent_even_concurrently(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "idem@example.az").await;
    let published = course(&stack, "IDEM-1", 1, true).await;
    let client = stack.enrollments().await;
    let mut request = enroll(&learner.id, &published.id);
    request.request_id = "enroll-7".into();
    retries_answer_alike(6, || {
        let (mut client, request) = (client.clone(), request.clone());
        async move { client.enroll(request).await.map(|r| r.into_inner().id) }
    })
    .await;
    assert_eq!(enrollments_of(&stack, &learner.id).await.len(), 1);
}

async fn course_service_down_is_unavailable_and_writes_nothing(db: TestDb) {
    let mut stack = Stack::start(db).await;
    let learner = registered(&stack, "down@example.az").await;
    let published = course(&stack, "DOWN-1", 1, true).await;
    stack.stop_course_service().await;
    let mut client = stack.enrollments().await;
    let status = expect_code(
        client.enroll(enroll(&learner.id, &published.id)).await,
        Code::Unavailable,
    );
    assert!(status.message().contains("course service"), "{status:?}");
    let listed = enrollments_of(&stack, &learner.id).await;
    assert!(listed.is_empty(), "nothing written");
    let head = feed_head(&stack).await;
    assert_eq!(head, 1, "only the registration is in the feed");
}

async fn lists_filters_and_withdraws(db: TestDb) {
    let stack = Stack::start(db).await;
    let a = registered(&stack, "a@example.az").await;
    let b = registered(&stack, "b@example.az").await;
    let c1 = course(&stack, "LF-1", 1, true).await;
    let c2 = course(&stack, "LF-2", 1, true).await;
    let mut client = stack.enrollments().await;
    let mut ids = Vec::new();
    for (learner, course) in [(&a, &c1), (&a, &c2), (&b, &c1)] {
        ids.push(enrolled(&stack, &learner.id, &course.id).await.id);
    }
    let list =
        |learner_id: &str, course_id: &str, state: i32, page_size: i32, page_token: String| {
            ListEnrollmentsRequest {
                learner_id: learner_id.into(),
                course_id: course_id.into(),
                state,
                page_size,
                page_token,
            }
        };
    let of_a = list(&a.id, "", 0, 0, String::new());
    let of_a = client.list_enrollments(of_a).await.unwrap().into_inner();
    assert_eq!(of_a.enrollments.len(), 2);
    let in_c1 = list("", &c1.id, 0, 0, String::new());
    let in_c1 = client.list_enrollments(in_c1).await.unwrap().into_inner();
    assert_eq!(in_c1.enrollments.len(), 2);
    let page = list("", "", 0, 2, String::new());
    let page = client.list_enrollments(page).await.unwrap().into_inner();
    let rest = list("", "", 0, 2, page.next_page_token);
    let rest = client.list_enrollments(rest).await.unwrap().into_inner();
    let ids_of = |enrollments: &[Enrollment]| -> Vec<String> {
        enrollments.iter().map(|e| e.id.clone()).collect()
    };
    assert_eq!(
        [ids_of(&page.enrollments), ids_of(&rest.enrollments)].concat(),
        ids
    );

    let withdraw = |id: &str| WithdrawEnrollmentRequest { id: id.into() };
    let withdrawn = client.withdraw_enrollment(withdraw(&ids[0])).await;
    let withdrawn = withdrawn.unwrap().into_inner();
    assert_eq!(withdrawn.state, EnrollmentState::Withdrawn as i32);
    assert!(withdrawn.withdraw_time.is_some());
    let again = client.withdraw_enrollment(withdraw(&ids[0])).await;
    expect_code(again, Code::FailedPrecondition);
    let unknown = client.withdraw_enrollment(withdraw(UNKNOWN_ID)).await;
    expect_code(unknown, Code::NotFound);
    let withdrawn_only = list("", "", EnrollmentState::Withdrawn as i32, 0, String::new());
    let withdrawn_only = client.list_enrollments(withdrawn_only).await.unwrap();
    assert_eq!(
        ids_of(&withdrawn_only.into_inner().enrollments),
        [ids[0].clone()]
    );
    let bad = list("bad", "", 42, 0, String::new());
    expect_invalid(client.list_enrollments(bad).await, &["learner_id", "state"]);
}
