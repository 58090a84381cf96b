use academy_proto::course::*;
use academy_testkit::{TestDb, on_both_backends};
use prost_types::FieldMask;
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

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

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

    let fetched = client
        .get_course(GetCourseRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
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
    let status = expect_code(
        client
            .create_course(CreateCourseRequest {
                course: Some(bad),
                request_id: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        violated_fields(&status),
        [
            "course.code",
            "course.title",
            "course.language",
            "course.level",
            "course.estimated_hours",
            "course.skill_ids[0]",
            "course.modules[1].estimated_minutes",
        ]
    );
    let mut no_modules = course("EMPTY", vec![]);
    no_modules.modules.clear();
    let status = expect_code(
        client
            .create_course(CreateCourseRequest {
                course: Some(no_modules),
                request_id: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["course.modules"]);
    assert_eq!(count_courses(&mut client).await, 0, "nothing written");
}

async fn duplicate_code_is_already_exists_and_unknown_skill_is_rejected(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    create_course(&mut client, "AI-200", vec![]).await;
    expect_code(
        client
            .create_course(CreateCourseRequest {
                course: Some(course("AI-200", vec![])),
                request_id: String::new(),
            })
            .await,
        Code::AlreadyExists,
    );
    let ghost = "01900000-0000-7000-8000-000000000000".to_string();
    let status = expect_code(
        client
            .create_course(CreateCourseRequest {
                course: Some(course("AI-201", vec![ghost])),
                request_id: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["course.skill_ids[0]"]);
    assert_eq!(count_courses(&mut client).await, 1);
}

async fn get_unknown_or_malformed_ids(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let status = expect_code(
        client
            .get_course(GetCourseRequest {
                id: "01900000-0000-7000-8000-000000000000".into(),
            })
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains("course"));
    let status = expect_code(
        client
            .get_course(GetCourseRequest { id: "42".into() })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["id"]);
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
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_courses(ListCoursesRequest {
                page_size: 2,
                page_token: token,
                skill_id: cloud.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.courses.iter().map(|c| c.id.clone()));
        assert!(
            page.courses
                .iter()
                .all(|c| c.skill_ids == [cloud.id.clone()])
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, with_skill);
    assert_eq!(pages, 2);

    let published = client
        .list_courses(ListCoursesRequest {
            state: CourseState::Published as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(published.courses.len(), 3);
    let by_provider = client
        .list_courses(ListCoursesRequest {
            provider: "Udemy".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(by_provider.courses.is_empty());
    let status = expect_code(
        client
            .list_courses(ListCoursesRequest {
                state: 99,
                skill_id: "x".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["state", "skill_id"]);
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
    let updated = client
        .update_course(UpdateCourseRequest {
            course: Some(change),
            update_mask: mask(&["title", "skill_ids", "modules"]),
            etag: created.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "Renamed");
    assert_eq!(updated.provider, created.provider);
    assert_eq!(updated.skill_ids, [skill.id]);
    assert_eq!(updated.modules.len(), 1);
    assert_ne!(updated.etag, created.etag);

    let status = expect_code(
        client
            .update_course(UpdateCourseRequest {
                course: Some(updated.clone()),
                update_mask: mask(&["code"]),
                etag: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["update_mask"]);
    let status = expect_code(
        client
            .update_course(UpdateCourseRequest {
                course: Some(updated.clone()),
                update_mask: None,
                etag: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["update_mask"]);
    let mut blank = updated.clone();
    blank.title = " ".into();
    let status = expect_code(
        client
            .update_course(UpdateCourseRequest {
                course: Some(blank),
                update_mask: mask(&["title"]),
                etag: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["course.title"]);
    let mut ghost = updated.clone();
    ghost.id = "01900000-0000-7000-8000-000000000000".into();
    expect_code(
        client
            .update_course(UpdateCourseRequest {
                course: Some(ghost),
                update_mask: mask(&["title"]),
                etag: String::new(),
            })
            .await,
        Code::NotFound,
    );
    let fetched = client
        .get_course(GetCourseRequest { id: created.id })
        .await
        .unwrap()
        .into_inner();
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
            client
                .update_course(UpdateCourseRequest {
                    course: Some(change),
                    update_mask: mask(&["title"]),
                    etag,
                })
                .await
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
    let fetched = client
        .get_course(GetCourseRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.title, winners[0].get_ref().title);
    expect_code(
        client
            .publish_course(PublishCourseRequest {
                id: created.id,
                etag: created.etag,
            })
            .await,
        Code::Aborted,
    );
}

async fn state_rules_are_enforced(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let created = create_course(&mut client, "ST-1", vec![]).await;
    let published = publish(&mut client, &created.id).await;
    assert_eq!(published.state, CourseState::Published as i32);
    assert!(published.publish_time.is_some());
    assert_eq!(published.archive_time, None, "not archived yet");
    expect_code(
        client
            .publish_course(PublishCourseRequest {
                id: created.id.clone(),
                etag: String::new(),
            })
            .await,
        Code::FailedPrecondition,
    );
    // Descriptive fields may change once published; structure may not.
    let mut change = published.clone();
    change.description = "Updated after launch".into();
    client
        .update_course(UpdateCourseRequest {
            course: Some(change.clone()),
            update_mask: mask(&["description"]),
            etag: String::new(),
        })
        .await
        .unwrap();
    let status = expect_code(
        client
            .update_course(UpdateCourseRequest {
                course: Some(change.clone()),
                update_mask: mask(&["modules"]),
                etag: String::new(),
            })
            .await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("draft"));

    let archived = client
        .archive_course(ArchiveCourseRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
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
        client
            .get_course(GetCourseRequest {
                id: created.id.clone()
            })
            .await
            .unwrap()
            .into_inner()
            .archive_time,
        Some(archive_time)
    );
    for result in [
        client
            .archive_course(ArchiveCourseRequest {
                id: created.id.clone(),
                etag: String::new(),
            })
            .await,
        client
            .publish_course(PublishCourseRequest {
                id: created.id.clone(),
                etag: String::new(),
            })
            .await,
        client
            .update_course(UpdateCourseRequest {
                course: Some(change),
                update_mask: mask(&["title"]),
                etag: String::new(),
            })
            .await,
    ] {
        expect_code(result, Code::FailedPrecondition);
    }
    expect_code(
        client
            .publish_course(PublishCourseRequest {
                id: "01900000-0000-7000-8000-000000000000".into(),
                etag: String::new(),
            })
            .await,
        Code::NotFound,
    );
}

async fn create_with_request_id_is_idempotent_even_concurrently(db: TestDb) {
    let server = TestServer::start(db).await;
    let client = server.client().await;
    let request = CreateCourseRequest {
        course: Some(course("IDEM-1", vec![])),
        request_id: "retry-42".into(),
    };
    let attempts = (0..6).map(|_| {
        let mut client = client.clone();
        let request = request.clone();
        async move {
            client
                .create_course(request)
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
        .create_course(CreateCourseRequest {
            course: Some(ml.clone()),
            request_id: String::new(),
        })
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
    let missing = lookup(Some(Key::ProviderCourseId("deep-learning".into())))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let missing = lookup(Some(Key::Code("NOPE-1".into()))).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(violated_fields(&lookup(None).await.unwrap_err()), ["key"]);
    let bad = lookup(Some(Key::Code("no spaces allowed".into())))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["code"]);
    let empty = lookup(Some(Key::ProviderCourseId("  ".into())))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&empty), ["provider_course_id"]);

    // Taken by another course: ALREADY_EXISTS, nothing created.
    let before = count_courses(&mut client).await;
    let mut again = course("ML-2", vec![]);
    again.provider_course_id = Some("machine-learning".into());
    let taken = client
        .create_course(CreateCourseRequest {
            course: Some(again),
            request_id: String::new(),
        })
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
        .create_course(CreateCourseRequest {
            course: Some(blank),
            request_id: String::new(),
        })
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
