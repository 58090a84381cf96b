use academy_proto::course::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    creates_and_gets_a_course_with_ordered_modules,
    course_validation_names_every_field,
    duplicate_code_is_already_exists_and_unknown_skill_is_rejected,
    get_unknown_or_malformed_ids,
    lists_with_filters_across_pages,
    updates_with_mask_and_etag,
    stale_and_concurrent_etags_abort,
    state_rules_are_enforced,
    create_with_request_id_is_idempotent_even_concurrently,
    courses_are_found_by_code_or_provider_course_id,
);

async fn count_courses(client: &mut Client) -> usize {
    client
        .list_courses(ListCoursesRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .courses
        .len()
}

async fn creates_and_gets_a_course_with_ordered_modules(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let skill = create_skill(&mut client, "Data analysis").await;
    let created = create_course(&mut client, "DA-101", vec![skill.id.clone()]).await;
    assert_eq!(created.state, CourseState::Draft as i32);
    assert_eq!(created.skill_ids, [skill.id]);
    assert_eq!(created.modules.len(), 2);
    assert_eq!(
        created
            .modules
            .iter()
            .map(|m| (m.position, m.title.as_str()))
            .collect::<Vec<_>>(),
        [(0, "Basics"), (1, "Practice")]
    );
    assert!(created.modules.iter().all(|m| !m.id.is_empty()));
    assert!(!created.etag.is_empty());
    assert!(created.create_time.is_some() && created.publish_time.is_none());

    let fetched = get_course(&mut client, &created.id).await;
    assert_eq!(fetched, created);
}

async fn course_validation_names_every_field(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut bad = course("has space", vec!["not-an-id".into()]);
    bad.title = String::new();
    bad.language = "english".into();
    bad.level = 0;
    bad.estimated_hours = -1.0;
    bad.modules[1].estimated_minutes = 0;
    expect_invalid(
        client.create_course(create_request(bad)).await,
        &[
            "course.code",
            "course.title",
            "course.language",
            "course.level",
            "course.estimated_hours",
            "course.skill_ids[0]",
            "course.modules[1].estimated_minutes",
        ],
    );
    let mut no_modules = course("EMPTY", vec![]);
    no_modules.modules.clear();
    let no_modules = client.create_course(create_request(no_modules)).await;
    expect_invalid(no_modules, &["course.modules"]);
    assert_eq!(count_courses(&mut client).await, 0, "nothing written");
}

async fn duplicate_code_is_already_exists_and_unknown_skill_is_rejected(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    create_course(&mut client, "AI-200", vec![]).await;
    let same_code = create_request(course("AI-200", vec![]));
    expect_code(client.create_course(same_code).await, Code::AlreadyExists);
    let ghost = "01900000-0000-7000-8000-000000000000".to_string();
    let unknown_skill = create_request(course("AI-201", vec![ghost]));
    let unknown_skill = client.create_course(unknown_skill).await;
    expect_invalid(unknown_skill, &["course.skill_ids[0]"]);
    assert_eq!(count_courses(&mut client).await, 1);
}

async fn get_unknown_or_malformed_ids(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let get = |id: &str| GetCourseRequest { id: id.into() };
    let unknown = get("01900000-0000-7000-8000-000000000000");
    let status = expect_code(client.get_course(unknown).await, Code::NotFound);
    assert!(status.message().contains("course"));
    expect_invalid(client.get_course(get("42")).await, &["id"]);
}

async fn lists_with_filters_across_pages(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let cloud = create_skill(&mut client, "Cloud").await;
    let mut with_skill = Vec::new();
    for i in 0..7 {
        let skills = if i % 2 == 0 {
            vec![cloud.id.clone()]
        } else {
            vec![]
        };
        let c = create_course(&mut client, &format!("C-{i}"), skills).await;
        if i % 2 == 0 {
            with_skill.push(c.id.clone());
        }
        if i < 3 {
            publish(&mut client, &c.id).await;
        }
    }
    // Every cloud course, two per page.
    let cloud_pages = pages(|page_token| {
        let mut client = client.clone();
        let skill_id = cloud.id.clone();
        async move {
            let request = ListCoursesRequest {
                page_size: 2,
                page_token,
                skill_id: skill_id.clone(),
                ..Default::default()
            };
            let page = client.list_courses(request).await.unwrap().into_inner();
            assert!(
                page.courses
                    .iter()
                    .all(|c| c.skill_ids == [skill_id.clone()])
            );
            let ids = page.courses.into_iter().map(|c| c.id).collect();
            (ids, page.next_page_token)
        }
    })
    .await;
    assert_eq!(cloud_pages.len(), 2);
    assert_eq!(cloud_pages.concat(), with_skill);

    let published = ListCoursesRequest {
        state: CourseState::Published as i32,
        ..Default::default()
    };
    let published = client.list_courses(published).await.unwrap().into_inner();
    assert_eq!(published.courses.len(), 3);
    let by_provider = ListCoursesRequest {
        provider: "Udemy".into(),
        ..Default::default()
    };
    let by_provider = client.list_courses(by_provider).await.unwrap().into_inner();
    assert!(by_provider.courses.is_empty());
    let bad_filters = ListCoursesRequest {
        state: 99,
        skill_id: "x".into(),
        ..Default::default()
    };
    let bad_filters = client.list_courses(bad_filters).await;
    expect_invalid(bad_filters, &["state", "skill_id"]);
}

async fn updates_with_mask_and_etag(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let skill = create_skill(&mut client, "AI").await;
    let created = create_course(&mut client, "UP-1", vec![]).await;
    let mut change = created.clone();
    change.title = "Renamed".into();
    change.provider = "ignored: not in mask".into();
    change.skill_ids = vec![skill.id.clone()];
    change.modules = vec![CourseModule {
        title: "Only".into(),
        estimated_minutes: 30,
        ..Default::default()
    }];
    let request = update_request(
        &change,
        mask(&["title", "skill_ids", "modules"]),
        &created.etag,
    );
    let updated = client.update_course(request).await.unwrap().into_inner();
    assert_eq!(updated.title, "Renamed");
    assert_eq!(updated.provider, created.provider);
    assert_eq!(updated.skill_ids, [skill.id]);
    assert_eq!(updated.modules.len(), 1);
    assert_ne!(updated.etag, created.etag);

    // Refused updates: (course, mask, the code, the fields an
    // INVALID_ARGUMENT names).
    let mut blank = updated.clone();
    blank.title = " ".into();
    let mut ghost = updated.clone();
    ghost.id = "01900000-0000-7000-8000-000000000000".into();
    let refused = [
        (
            &updated,
            mask(&["code"]),
            Code::InvalidArgument,
            "update_mask",
        ),
        (&updated, None, Code::InvalidArgument, "update_mask"),
        (
            &blank,
            mask(&["title"]),
            Code::InvalidArgument,
            "course.title",
        ),
        (&ghost, mask(&["title"]), Code::NotFound, ""),
    ];
    for (course, update_mask, code, field) in refused {
        let request = update_request(course, update_mask, "");
        let status = expect_code(client.update_course(request).await, code);
        if code == Code::InvalidArgument {
            assert_eq!(violated_fields(&status), [field]);
        }
    }
    let fetched = get_course(&mut client, &created.id).await;
    assert_eq!(fetched, updated, "failed updates changed nothing");
}

async fn stale_and_concurrent_etags_abort(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let created = create_course(&mut client, "ETAG-1", vec![]).await;
    let attempts = (0..8).map(|i| {
        let mut client = client.clone();
        let mut change = created.clone();
        change.title = format!("Writer {i}");
        let etag = created.etag.clone();
        async move {
            let request = update_request(&change, mask(&["title"]), &etag);
            client.update_course(request).await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one writer with the same etag wins"
    );
    for result in &results {
        if let Err(status) = result {
            assert_eq!(status.code(), Code::Aborted);
        }
    }
    let fetched = get_course(&mut client, &created.id).await;
    assert_eq!(fetched.title, winners[0].get_ref().title);
    let stale = PublishCourseRequest {
        id: created.id,
        etag: created.etag,
    };
    expect_code(client.publish_course(stale).await, Code::Aborted);
}

async fn state_rules_are_enforced(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let created = create_course(&mut client, "ST-1", vec![]).await;
    let published = publish(&mut client, &created.id).await;
    assert_eq!(published.state, CourseState::Published as i32);
    assert!(published.publish_time.is_some());
    assert_eq!(published.archive_time, None, "not archived yet");
    let publish = |id: &str| PublishCourseRequest {
        id: id.into(),
        etag: String::new(),
    };
    let archive = |id: &str| ArchiveCourseRequest {
        id: id.into(),
        etag: String::new(),
    };
    let again = client.publish_course(publish(&created.id)).await;
    expect_code(again, Code::FailedPrecondition);
    // Descriptive fields may change once published; structure may not.
    let mut change = published.clone();
    change.description = "Updated after launch".into();
    let descriptive = update_request(&change, mask(&["description"]), "");
    client.update_course(descriptive).await.unwrap();
    let structural = update_request(&change, mask(&["modules"]), "");
    let status = expect_code(
        client.update_course(structural).await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("draft"));

    let archived = client.archive_course(archive(&created.id)).await;
    let archived = archived.unwrap().into_inner();
    assert_eq!(archived.state, CourseState::Archived as i32);
    // The archive time bounds the history an archived course still takes
    // (issue #17): set on archiving, not before.
    let archive_time = archived.archive_time.expect("archive_time set");
    assert!(
        archived
            .publish_time
            .is_some_and(|p| p.seconds <= archive_time.seconds)
    );
    assert_eq!(
        get_course(&mut client, &created.id).await.archive_time,
        Some(archive_time)
    );
    for result in [
        client.archive_course(archive(&created.id)).await,
        client.publish_course(publish(&created.id)).await,
        client
            .update_course(update_request(&change, mask(&["title"]), ""))
            .await,
    ] {
        expect_code(result, Code::FailedPrecondition);
    }
    let unknown = publish("01900000-0000-7000-8000-000000000000");
    expect_code(client.publish_course(unknown).await, Code::NotFound);
}

async fn create_with_request_id_is_idempotent_even_concurrently(db: TestDb) {
    let server = TestServer::start(db).await;
    let client = server.client().await;
    let request = CreateCourseRequest {
        course: Some(course("IDEM-1", vec![])),
        request_id: "retry-42".into(),
    };
    retries_answer_alike(6, || {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client
                .create_course(request)
                .await
                .map(|r| r.into_inner().id)
        }
    })
    .await;
    let mut client = client;
    assert_eq!(count_courses(&mut client).await, 1);
    // A different request id with the same code is a real conflict.
    let other = CreateCourseRequest {
        request_id: "retry-43".into(),
        ..request
    };
    expect_code(client.create_course(other).await, Code::AlreadyExists);
}

async fn courses_are_found_by_code_or_provider_course_id(db: TestDb) {
    use lookup_course_request::Key;
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut ml = course("ML-1", vec![]);
    ml.provider_course_id = Some("machine-learning".into());
    let created = client
        .create_course(create_request(ml.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created.provider_course_id.as_deref(),
        Some("machine-learning")
    );
    let plain = create_course(&mut client, "PLAIN-1", vec![]).await;
    assert_eq!(plain.provider_course_id, None);
    // Several courses without a provider id coexist.
    create_course(&mut client, "PLAIN-2", vec![]).await;

    let lookup = |key| {
        let mut client = client.clone();
        async move { client.lookup_course(LookupCourseRequest { key }).await }
    };
    let by_code = lookup(Some(Key::Code("ML-1".into()))).await.unwrap();
    assert_eq!(by_code.into_inner().id, created.id);
    let by_slug = lookup(Some(Key::ProviderCourseId("machine-learning".into())))
        .await
        .unwrap();
    assert_eq!(by_slug.into_inner().id, created.id);
    let unknown_slug = lookup(Some(Key::ProviderCourseId("deep-learning".into())));
    expect_code(unknown_slug.await, Code::NotFound);
    expect_code(
        lookup(Some(Key::Code("NOPE-1".into()))).await,
        Code::NotFound,
    );
    let bad_keys = [
        (None, "key"),
        (Some(Key::Code("no spaces allowed".into())), "code"),
        (
            Some(Key::ProviderCourseId("  ".into())),
            "provider_course_id",
        ),
    ];
    for (key, field) in bad_keys {
        expect_invalid(lookup(key).await, &[field]);
    }

    // Taken by another course: ALREADY_EXISTS, nothing created.
    let before = count_courses(&mut client).await;
    let mut again = course("ML-2", vec![]);
    again.provider_course_id = Some("machine-learning".into());
    let taken = client
        .create_course(create_request(again))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(
        taken.message().contains("provider_course_id"),
        "{}",
        taken.message()
    );
    let mut blank = course("ML-3", vec![]);
    blank.provider_course_id = Some(String::new());
    let invalid = client
        .create_course(create_request(blank))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&invalid), ["course.provider_course_id"]);
    assert_eq!(count_courses(&mut client).await, before);

    // An existing course gets one by UpdateCourse; a taken one is refused.
    let update = |id: &str, value: Option<&str>| UpdateCourseRequest {
        course: Some(Course {
            id: id.to_owned(),
            provider_course_id: value.map(str::to_owned),
            ..Default::default()
        }),
        update_mask: mask(&["provider_course_id"]),
        etag: String::new(),
    };
    let set = client
        .update_course(update(&plain.id, Some("python-basics")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(set.provider_course_id.as_deref(), Some("python-basics"));
    let found = client
        .lookup_course(LookupCourseRequest {
            key: Some(Key::ProviderCourseId("python-basics".into())),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.id, plain.id);
    let taken = client
        .update_course(update(&plain.id, Some("machine-learning")))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    // Setting a course's own id again is no conflict; unset clears it.
    client
        .update_course(update(&created.id, Some("machine-learning")))
        .await
        .unwrap();
    let cleared = client
        .update_course(update(&plain.id, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleared.provider_course_id, None);
    let gone = client
        .lookup_course(LookupCourseRequest {
            key: Some(Key::ProviderCourseId("python-basics".into())),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}
