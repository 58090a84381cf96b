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

    let enrolled = client
        .enroll(enroll(&learner.id, &published.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(enrolled.state, EnrollmentState::Enrolled as i32);
    assert_eq!(enrolled.progress_percent, 0);
    assert!(enrolled.enroll_time.is_some());
    let fetched = client
        .get_enrollment(GetEnrollmentRequest {
            id: enrolled.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, enrolled);

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
    let status = expect_code(client.enroll(enroll("x", "")).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["learner_id", "course_id"]);
    expect_code(
        client
            .get_enrollment(GetEnrollmentRequest {
                id: UNKNOWN_ID.into(),
            })
            .await,
        Code::NotFound,
    );

    // A program that does not include the course.
    let mut catalog = stack.catalog().await;
    let program = catalog
        .create_program(academy_proto::course::CreateProgramRequest {
            program: Some(academy_proto::course::Program {
                name: "Other program".into(),
                start_date: Some(academy_proto::google::r#type::Date {
                    year: 2020,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
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
    let first = client
        .enroll(enroll(&learner.id, &published.id))
        .await
        .unwrap()
        .into_inner();
    expect_code(
        client.enroll(enroll(&learner.id, &published.id)).await,
        Code::AlreadyExists,
    );
    client
        .withdraw_enrollment(WithdrawEnrollmentRequest {
            id: first.id.clone(),
        })
        .await
        .unwrap();
    let second = client
        .enroll(enroll(&learner.id, &published.id))
        .await
        .unwrap()
        .into_inner();
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
    let attempts = (0..6).map(|_| {
        let mut client = client.clone();
        let request = request.clone();
        async move { client.enroll(request).await.map(|r| r.into_inner().id) }
    });
    let ids: Vec<String> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("every retry succeeds"))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let listed = client
        .clone()
        .list_enrollments(ListEnrollmentsRequest {
            learner_id: learner.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.enrollments.len(), 1);
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
    let listed = client
        .list_enrollments(ListEnrollmentsRequest {
            learner_id: learner.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.enrollments.is_empty(), "nothing written");
    let mut feed = stack.feed().await;
    let head = feed
        .get_head(academy_proto::events::GetHeadRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        head.head_sequence, 1,
        "only the registration is in the feed"
    );
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
        ids.push(
            client
                .enroll(enroll(&learner.id, &course.id))
                .await
                .unwrap()
                .into_inner()
                .id,
        );
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
    let of_a = client
        .list_enrollments(list(&a.id, "", 0, 0, String::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(of_a.enrollments.len(), 2);
    let in_c1 = client
        .list_enrollments(list("", &c1.id, 0, 0, String::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(in_c1.enrollments.len(), 2);
    let page = client
        .list_enrollments(list("", "", 0, 2, String::new()))
        .await
        .unwrap()
        .into_inner();
    let rest = client
        .list_enrollments(list("", "", 0, 2, page.next_page_token))
        .await
        .unwrap()
        .into_inner();
    let paged: Vec<String> = page
        .enrollments
        .iter()
        .chain(&rest.enrollments)
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(paged, ids);

    let withdrawn = client
        .withdraw_enrollment(WithdrawEnrollmentRequest { id: ids[0].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(withdrawn.state, EnrollmentState::Withdrawn as i32);
    assert!(withdrawn.withdraw_time.is_some());
    expect_code(
        client
            .withdraw_enrollment(WithdrawEnrollmentRequest { id: ids[0].clone() })
            .await,
        Code::FailedPrecondition,
    );
    expect_code(
        client
            .withdraw_enrollment(WithdrawEnrollmentRequest {
                id: UNKNOWN_ID.into(),
            })
            .await,
        Code::NotFound,
    );
    let only_withdrawn = client
        .list_enrollments(list(
            "",
            "",
            EnrollmentState::Withdrawn as i32,
            0,
            String::new(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        only_withdrawn
            .enrollments
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        [ids[0].clone()]
    );
    let status = expect_code(
        client
            .list_enrollments(list("bad", "", 42, 0, String::new()))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["learner_id", "state"]);
}
