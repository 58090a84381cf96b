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
    let created = register_learner(&stack, request).await;
    assert_eq!(created.email, "aysel.mammadova@example.az");
    assert_eq!(created.region, "Ganja-Dashkasan");
    assert_eq!(created.state, LearnerState::Active as i32);
    assert!(
        !created.etag.is_empty()
            && created.create_time.is_some()
            && created.register_time.is_some()
    );
    assert_eq!(get_learner(&stack, &created.id).await, created);
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
    let request = RegisterLearnerRequest {
        learner: Some(bad),
        request_id: String::new(),
        registered_at: None,
    };
    expect_invalid(
        client.register_learner(request).await,
        &[
            "learner.email",
            "learner.full_name",
            "learner.region",
            "learner.gender",
            "learner.birth_year",
            "learner.employment_status",
        ],
    );
    let empty = RegisterLearnerRequest::default();
    expect_invalid(client.register_learner(empty).await, &["learner"]);
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
    retries_answer_alike(6, || {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client
                .register_learner(request)
                .await
                .map(|r| r.into_inner().id)
        }
    })
    .await;
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
    expect_invalid(client.register_learner(future).await, &["registered_at"]);
}

async fn get_and_list_with_filters_and_pages(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut request = register(&format!("l{i}@example.az"));
        request.learner.as_mut().unwrap().region =
            if i % 2 == 0 { "Baku" } else { "Karabakh" }.into();
        ids.push(register_learner(&stack, request).await.id);
    }
    let get = |id: &str| GetLearnerRequest { id: id.into() };
    expect_code(client.get_learner(get(UNKNOWN_ID)).await, Code::NotFound);
    expect_invalid(client.get_learner(get("x")).await, &["id"]);

    // A page of learners: its ids and the next page's token.
    let list = |page_size: i32, page_token: String, region: &str, program_id: &str| {
        let request = ListLearnersRequest {
            page_size,
            page_token,
            region: region.into(),
            program_id: program_id.into(),
        };
        let mut client = client.clone();
        async move {
            let page = client.list_learners(request).await?.into_inner();
            let ids: Vec<String> = page.learners.into_iter().map(|l| l.id).collect();
            Ok::<_, tonic::Status>((ids, page.next_page_token))
        }
    };
    let (first, next_page_token) = list(2, String::new(), "", "").await.unwrap();
    assert_eq!(first, ids[..2]);
    let (second, _) = list(2, next_page_token, "", "").await.unwrap();
    assert_eq!(second, ids[2..4]);
    let (baku, _) = list(0, String::new(), "baku", "").await.unwrap();
    assert_eq!(baku.len(), 3);
    let status = list(0, String::new(), "Atlantis", "nope")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["region", "program_id"]);

    // Program filter: only learners enrolled in the program.
    let course = course(&stack, "PRG-1", 1, true).await;
    let program = program(&stack, "National Program", 2014, &[&course.id]).await;
    let mut request = enroll(&ids[1], &course.id);
    request.program_id = program.id.clone();
    stack.enrollments().await.enroll(request).await.unwrap();
    let (members, _) = list(0, String::new(), "", &program.id).await.unwrap();
    assert_eq!(members, [ids[1].clone()]);
}

async fn update_with_mask_and_etag(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    let original = registered(&stack, "update@example.az").await;
    registered(&stack, "taken@example.az").await;
    // Changes `learner` as far as `update_mask` says, if `etag` matches.
    let update =
        |learner: &Learner, update_mask: Option<FieldMask>, etag: &str| UpdateLearnerRequest {
            learner: Some(learner.clone()),
            update_mask,
            etag: etag.into(),
        };
    let mut change = original.clone();
    change.region = "Nakhchivan".into();
    change.full_name = "not in the mask".into();
    let request = update(&change, mask(&["region"]), &original.etag);
    let updated = client.update_learner(request).await.unwrap().into_inner();
    assert_eq!(updated.region, "Nakhchivan");
    assert_eq!(updated.full_name, original.full_name);
    assert_ne!(updated.etag, original.etag);

    let stale = update(&change, mask(&["region"]), &original.etag);
    expect_code(client.update_learner(stale).await, Code::Aborted);
    let not_updatable = update(&change, mask(&["state"]), "");
    expect_invalid(client.update_learner(not_updatable).await, &["update_mask"]);
    let no_mask = update(&change, None, "");
    expect_invalid(client.update_learner(no_mask).await, &["update_mask"]);
    let mut steal = change.clone();
    steal.email = "Taken@example.az".into();
    let steal = update(&steal, mask(&["email"]), "");
    expect_code(client.update_learner(steal).await, Code::AlreadyExists);
    let mut ghost = change.clone();
    ghost.id = UNKNOWN_ID.into();
    let ghost = update(&ghost, mask(&["region"]), "");
    expect_code(client.update_learner(ghost).await, Code::NotFound);
    let fetched = get_learner(&stack, &original.id).await;
    assert_eq!(fetched, updated, "failed updates changed nothing");
}
