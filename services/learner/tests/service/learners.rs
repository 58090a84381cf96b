use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use prost_types::{FieldMask, Timestamp};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    registers_with_normalised_email_and_canonical_region,
    invalid_learner_names_every_bad_field,
    duplicate_email_or_external_id_is_already_exists,
    register_is_idempotent_even_concurrently,
    backfilled_registration_time,
    get_and_list_with_filters_and_pages,
    update_with_mask_and_etag,
);

async fn registers_with_normalised_email_and_canonical_region(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut request = register("  Aysel.Mammadova@Example.AZ ");
    request.learner.as_mut().unwrap().region = "ganja_dashkasan".into();
    let created = stack
        .learners()
        .await
        .register_learner(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.email, "aysel.mammadova@example.az");
    assert_eq!(created.region, "Ganja-Dashkasan");
    assert_eq!(created.state, LearnerState::Active as i32);
    assert!(
        !created.etag.is_empty()
            && created.create_time.is_some()
            && created.register_time.is_some()
    );
    let fetched = stack
        .learners()
        .await
        .get_learner(GetLearnerRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, created);
}

async fn invalid_learner_names_every_bad_field(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    let bad = Learner {
        email: "not-an-email".into(),
        full_name: " ".into(),
        region: "Atlantis".into(),
        gender: 0,
        birth_year: 2020,
        employment_status: 0,
        ..Default::default()
    };
    let status = expect_code(
        client
            .register_learner(RegisterLearnerRequest {
                learner: Some(bad),
                request_id: String::new(),
                registered_at: None,
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        violated_fields(&status),
        [
            "learner.email",
            "learner.full_name",
            "learner.region",
            "learner.gender",
            "learner.birth_year",
            "learner.employment_status"
        ]
    );
    let status = expect_code(
        client
            .register_learner(RegisterLearnerRequest::default())
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["learner"]);
    assert!(all_learners(&stack).await.is_empty(), "nothing written");
}

async fn duplicate_email_or_external_id_is_already_exists(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    let mut first = register("leyla@example.az");
    first.learner.as_mut().unwrap().external_id = Some("NR-1".into());
    client.register_learner(first).await.unwrap();
    expect_code(
        client.register_learner(register("LEYLA@example.az")).await,
        Code::AlreadyExists,
    );
    let mut same_external = register("other@example.az");
    same_external.learner.as_mut().unwrap().external_id = Some("NR-1".into());
    expect_code(
        client.register_learner(same_external).await,
        Code::AlreadyExists,
    );
    assert_eq!(all_learners(&stack).await.len(), 1);
}

async fn register_is_idempotent_even_concurrently(db: TestDb) {
    let stack = Stack::start(db).await;
    let client = stack.learners().await;
    let mut request = register("retry@example.az");
    request.request_id = "reg-42".into();
    let attempts = (0..6).map(|_| {
        let mut client = client.clone();
        let request = request.clone();
        async move {
            client
                .register_learner(request)
                .await
                .map(|r| r.into_inner().id)
        }
    });
    let ids: Vec<String> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("every retry succeeds"))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(all_learners(&stack).await.len(), 1);
}

async fn backfilled_registration_time(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    let past = Timestamp {
        seconds: 1_420_070_400,
        nanos: 0,
    }; // 2015-01-01
    let mut request = register("early@example.az");
    request.registered_at = Some(past);
    let created = client.register_learner(request).await.unwrap().into_inner();
    assert_eq!(created.register_time, Some(past));
    let mut future = register("later@example.az");
    future.registered_at = Some(Timestamp {
        seconds: 4_102_444_800,
        nanos: 0,
    }); // 2100
    let status = expect_code(client.register_learner(future).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["registered_at"]);
}

async fn get_and_list_with_filters_and_pages(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut request = register(&format!("l{i}@example.az"));
        request.learner.as_mut().unwrap().region =
            if i % 2 == 0 { "Baku" } else { "Karabakh" }.into();
        ids.push(
            client
                .register_learner(request)
                .await
                .unwrap()
                .into_inner()
                .id,
        );
    }
    expect_code(
        client
            .get_learner(GetLearnerRequest {
                id: UNKNOWN_ID.into(),
            })
            .await,
        Code::NotFound,
    );
    let status = expect_code(
        client
            .get_learner(GetLearnerRequest { id: "x".into() })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["id"]);

    let first = client
        .list_learners(ListLearnersRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first
            .learners
            .iter()
            .map(|l| l.id.clone())
            .collect::<Vec<_>>(),
        ids[..2]
    );
    let second = client
        .list_learners(ListLearnersRequest {
            page_size: 2,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        second
            .learners
            .iter()
            .map(|l| l.id.clone())
            .collect::<Vec<_>>(),
        ids[2..4]
    );

    let baku = client
        .list_learners(ListLearnersRequest {
            region: "baku".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(baku.learners.len(), 3);
    let status = expect_code(
        client
            .list_learners(ListLearnersRequest {
                region: "Atlantis".into(),
                program_id: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["region", "program_id"]);

    // Program filter: only learners enrolled in the program.
    let course = course(&stack, "PRG-1", 1, true).await;
    let mut catalog = stack.catalog().await;
    let program = catalog
        .create_program(academy_proto::course::CreateProgramRequest {
            program: Some(academy_proto::course::Program {
                name: "National Program".into(),
                start_date: Some(academy_proto::google::r#type::Date {
                    year: 2014,
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
    catalog
        .add_course_to_program(academy_proto::course::AddCourseToProgramRequest {
            program_id: program.id.clone(),
            course_id: course.id.clone(),
        })
        .await
        .unwrap();
    let mut request = enroll(&ids[1], &course.id);
    request.program_id = program.id.clone();
    stack.enrollments().await.enroll(request).await.unwrap();
    let members = client
        .list_learners(ListLearnersRequest {
            program_id: program.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        members
            .learners
            .iter()
            .map(|l| l.id.clone())
            .collect::<Vec<_>>(),
        [ids[1].clone()]
    );
}

async fn update_with_mask_and_etag(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    let original = registered(&stack, "update@example.az").await;
    registered(&stack, "taken@example.az").await;
    let mask = |paths: &[&str]| {
        Some(FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        })
    };
    let mut change = original.clone();
    change.region = "Nakhchivan".into();
    change.full_name = "not in the mask".into();
    let updated = client
        .update_learner(UpdateLearnerRequest {
            learner: Some(change.clone()),
            update_mask: mask(&["region"]),
            etag: original.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.region, "Nakhchivan");
    assert_eq!(updated.full_name, original.full_name);
    assert_ne!(updated.etag, original.etag);

    expect_code(
        client
            .update_learner(UpdateLearnerRequest {
                learner: Some(change.clone()),
                update_mask: mask(&["region"]),
                etag: original.etag.clone(),
            })
            .await,
        Code::Aborted,
    );
    let status = expect_code(
        client
            .update_learner(UpdateLearnerRequest {
                learner: Some(change.clone()),
                update_mask: mask(&["state"]),
                etag: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["update_mask"]);
    let status = expect_code(
        client
            .update_learner(UpdateLearnerRequest {
                learner: Some(change.clone()),
                update_mask: None,
                etag: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["update_mask"]);
    let mut steal = change.clone();
    steal.email = "Taken@example.az".into();
    expect_code(
        client
            .update_learner(UpdateLearnerRequest {
                learner: Some(steal),
                update_mask: mask(&["email"]),
                etag: String::new(),
            })
            .await,
        Code::AlreadyExists,
    );
    let mut ghost = change.clone();
    ghost.id = UNKNOWN_ID.into();
    expect_code(
        client
            .update_learner(UpdateLearnerRequest {
                learner: Some(ghost),
                update_mask: mask(&["region"]),
                etag: String::new(),
            })
            .await,
        Code::NotFound,
    );
    let fetched = client
        .get_learner(GetLearnerRequest { id: original.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, updated, "failed updates changed nothing");
}
