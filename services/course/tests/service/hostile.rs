//! Property tests with hostile input: every CourseService RPC and the event
//! feed get huge strings, control characters, SQL fragments, odd unicode,
//! ids that are not ids, edge numbers, out-of-range enums, impossible dates
//! and times, garbage page tokens and hostile metadata. Every call must be
//! answered OK (only for input that happens to be valid) or refused with a
//! client-side code; a refused call must commit nothing (SQLite's
//! `data_version`, watched from a connection of its own, stays put), a read
//! must never write, and the server must answer a valid call afterwards.
//! SQLite only, to stay fast.

use crate::common::*;
use academy_proto::audit::ListAuditEntriesRequest;
use academy_proto::course::*;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_proto::events::{GetHeadRequest, SubscribeRequest};
use academy_proto::google::r#type::Date;
use academy_testkit::TestDb;
use academy_testkit::hostile::{self as h, Commits, Harness, id_or, text_or};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Request, Response};

/// A course server on a fresh SQLite database with one of everything, and
/// a runtime to drive it from proptest's synchronous closures.
struct Hostile {
    client: Client,
    feed: EventFeedClient<Channel>,
    skill: Skill,
    draft: Course,
    published: Course,
    program: Program,
    seen: h::Seen,
    rig: h::Rig<TestServer>,
}

impl Hostile {
    fn start() -> Self {
        let rt = h::runtime();
        let (server, commits, client, feed, skill, draft, published, program) =
            rt.block_on(async {
                let db = h::database().await;
                let url = db.url.clone();
                let server = TestServer::start(db).await;
                let commits = Commits::open(&url).await;
                let mut client = server.client().await;
                let feed = server.feed().await;
                let skill = create_skill(&mut client, "Data analysis").await;
                let draft = create_course(&mut client, "DRAFT-1", vec![skill.id.clone()]).await;
                let published = create_course(&mut client, "PUB-1", vec![skill.id.clone()]).await;
                let published = publish(&mut client, &published.id).await;
                let program = program_request("National Program", date(2024, 1, 15));
                let program = client.create_program(program).await.unwrap().into_inner();
                (
                    server, commits, client, feed, skill, draft, published, program,
                )
            });
        Self {
            client,
            feed,
            skill,
            draft,
            published,
            program,
            seen: h::Seen::default(),
            rig: h::Rig::new(rt, commits, server),
        }
    }

    /// True the first time a create answers with `id`.
    fn first_time(&self, id: &str) -> bool {
        self.seen.first_time(id)
    }
}

impl h::Harness for Hostile {
    type Served = TestServer;

    fn rig(&self) -> &h::Rig<TestServer> {
        &self.rig
    }

    /// A valid call answers after the hostile one.
    async fn alive(&self, after: &str) -> Result<(), TestCaseError> {
        let request = GetProgramRequest {
            id: self.program.id.clone(),
        };
        h::answered(after, self.client.clone().get_program(request).await)
    }
}

fn hostile_date() -> BoxedStrategy<Option<Date>> {
    prop_oneof![
        1 => Just(None),
        4 => h::date().prop_map(|(year, month, day)| Some(Date { year, month, day })),
    ]
    .boxed()
}

fn module() -> BoxedStrategy<CourseModule> {
    (
        text_or("[A-Za-z ]{1,30}"),
        prop_oneof![h::int32(), 1..10_000i32],
        h::id(),
        h::int32(),
    )
        .prop_map(|(title, estimated_minutes, id, position)| CourseModule {
            id,
            title,
            estimated_minutes,
            position,
        })
        .boxed()
}

/// A course with every field hostile or valid.
fn course(skill_ids: Vec<String>) -> BoxedStrategy<Course> {
    let skills = proptest::collection::vec(id_or(skill_ids), 0..4);
    let modules = prop_oneof![
        4 => proptest::collection::vec(module(), 0..4),
        1 => Just(vec![CourseModule { title: "M".into(), estimated_minutes: 1, ..Default::default() }; 201]),
    ];
    (
        (
            text_or("[A-Z]{2,4}-[0-9]{1,4}"),
            text_or("[A-Za-z ]{1,40}"),
            text_or("[a-z ]{0,40}"),
            text_or("[A-Za-z]{1,20}"),
            prop_oneof![
                h::text(),
                Just("az".to_owned()),
                Just("az-Latn-AZ".to_owned())
            ],
        ),
        (
            h::enum_value(),
            h::double(),
            skills,
            modules,
            h::id(),
            h::enum_value(),
            prop_oneof![Just(None), h::text().prop_map(Some)],
        ),
    )
        .prop_map(
            |(
                (code, title, description, provider, language),
                (level, estimated_hours, skill_ids, modules, id, state, provider_course_id),
            )| Course {
                id,
                code,
                title,
                description,
                provider,
                language,
                level,
                estimated_hours,
                skill_ids,
                modules,
                state,
                etag: "\"1\"".into(),
                provider_course_id,
                ..Default::default()
            },
        )
        .boxed()
}

#[test]
fn create_skill_refuses_hostile_input_without_writing() {
    let t = Hostile::start();
    let strategy = (
        text_or("[A-Za-z]{1,20}"),
        text_or("[A-Za-z]{1,20}"),
        h::text(),
    );
    h::check("CreateSkill", strategy, |(name, category, request_id)| {
        let req = CreateSkillRequest {
            skill: Some(Skill {
                name: name.clone(),
                category: category.clone(),
                ..Default::default()
            }),
            request_id,
        };
        let mut c = t.client.clone();
        let created = t.write("CreateSkill", async move { c.create_skill(req).await })?;
        if let Some(skill) = created.filter(|s| t.first_time(&s.id)) {
            prop_assert!(!h::never_valid_text(&name, 100) && !h::never_valid_text(&category, 100));
            prop_assert_eq!(skill.name.as_str(), h::kept(&name));
            prop_assert_eq!(skill.category.as_str(), h::kept(&category));
        }
        Ok(())
    });
}

#[test]
fn list_skills_refuses_hostile_input_without_writing() {
    let t = Hostile::start();
    let strategy = (
        h::int32(),
        prop_oneof![Just(String::new()), h::page_token("category=None")],
        prop_oneof![Just(String::new()), h::text()],
    );
    h::check(
        "ListSkills",
        strategy,
        |(page_size, page_token, category)| {
            let req = ListSkillsRequest {
                page_size,
                page_token,
                category: category.clone(),
            };
            let mut c = t.client.clone();
            if let Some(page) = t.read("ListSkills", async move { c.list_skills(req).await })? {
                prop_assert!(page_size >= 0);
                // A filter is an exact match: `%` or `_` match nothing but themselves.
                if !h::kept(&category).is_empty() {
                    for skill in &page.skills {
                        prop_assert_eq!(skill.category.as_str(), h::kept(&category));
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn create_course_refuses_hostile_input_without_writing() {
    let t = Hostile::start();
    let strategy = (course(vec![t.skill.id.clone()]), h::text());
    h::check("CreateCourse", strategy, |(course, request_id)| {
        let req = CreateCourseRequest {
            course: Some(course.clone()),
            request_id,
        };
        let mut c = t.client.clone();
        let created = t.write("CreateCourse", async move { c.create_course(req).await })?;
        if let Some(created) = created.filter(|c| t.first_time(&c.id)) {
            prop_assert!(!h::never_valid_text(&course.title, 200));
            prop_assert_eq!(created.code.as_str(), h::kept(&course.code));
            prop_assert_eq!(created.title.as_str(), h::kept(&course.title));
            prop_assert_eq!(created.provider.as_str(), h::kept(&course.provider));
            prop_assert_eq!(created.state, CourseState::Draft as i32);
            prop_assert_ne!(created.id, course.id);
            prop_assert_eq!(created.modules.len(), course.modules.len());
        }
        Ok(())
    });
}

#[test]
fn get_course_refuses_hostile_ids() {
    let t = Hostile::start();
    h::check("GetCourse", h::id(), |id| {
        let mut c = t.client.clone();
        let reply = t.read("GetCourse", async move {
            c.get_course(GetCourseRequest { id }).await
        })?;
        prop_assert!(reply.is_none(), "a made-up id found a course");
        Ok(())
    });
}

#[test]
fn list_courses_refuses_hostile_filters_and_tokens() {
    let t = Hostile::start();
    let strategy = (
        h::int32(),
        prop_oneof![
            Just(String::new()),
            h::page_token("state=None;skill=None;provider=None")
        ],
        h::enum_value(),
        prop_oneof![Just(String::new()), id_or(vec![t.skill.id.clone()])],
        prop_oneof![Just(String::new()), h::text()],
    );
    h::check(
        "ListCourses",
        strategy,
        |(page_size, page_token, state, skill_id, provider)| {
            let req = ListCoursesRequest {
                page_size,
                page_token,
                state,
                skill_id,
                provider: provider.clone(),
            };
            let mut c = t.client.clone();
            if let Some(page) = t.read("ListCourses", async move { c.list_courses(req).await })? {
                prop_assert!(page_size >= 0 && (0..=3).contains(&state));
                for course in &page.courses {
                    if !h::kept(&provider).is_empty() {
                        prop_assert_eq!(course.provider.as_str(), h::kept(&provider));
                    }
                    if state != 0 {
                        prop_assert_eq!(course.state, state);
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn update_course_refuses_hostile_input_without_writing() {
    let t = Hostile::start();
    let ids = vec![t.draft.id.clone(), t.published.id.clone()];
    let strategy = (
        course(vec![t.skill.id.clone()]),
        id_or(ids),
        prop_oneof![Just(None), h::mask_paths(&UPDATABLE).prop_map(Some)],
        prop_oneof![Just(String::new()), h::text(), Just("\"1\"".to_owned())],
    );
    h::check("UpdateCourse", strategy, |(mut course, id, paths, etag)| {
        course.id = id;
        let req = UpdateCourseRequest {
            course: Some(course),
            update_mask: paths.map(|paths| prost_types::FieldMask { paths }),
            etag,
        };
        let mut c = t.client.clone();
        t.write("UpdateCourse", async move { c.update_course(req).await })?;
        Ok(())
    });
}

const UPDATABLE: [&str; 9] = [
    "title",
    "description",
    "provider",
    "language",
    "level",
    "estimated_hours",
    "skill_ids",
    "modules",
    "provider_course_id",
];

#[test]
fn publish_and_archive_refuse_hostile_input_without_writing() {
    let t = Hostile::start();
    let ids = vec![t.draft.id.clone(), t.published.id.clone()];
    let strategy = (
        id_or(ids),
        prop_oneof![Just(String::new()), h::text(), Just("\"1\"".to_owned())],
        any::<bool>(),
    );
    h::check("Publish/ArchiveCourse", strategy, |(id, etag, archive)| {
        let mut c = t.client.clone();
        if archive {
            let req = ArchiveCourseRequest { id, etag };
            t.write("ArchiveCourse", async move { c.archive_course(req).await })?;
        } else {
            let req = PublishCourseRequest { id, etag };
            t.write("PublishCourse", async move { c.publish_course(req).await })?;
        }
        Ok(())
    });
}

#[test]
fn create_program_refuses_hostile_input_without_writing() {
    let t = Hostile::start();
    let strategy = (
        text_or("[A-Za-z ]{1,30}"),
        text_or("[a-z ]{0,30}"),
        hostile_date(),
        h::text(),
        h::id(),
        proptest::collection::vec(h::id(), 0..3),
    );
    h::check(
        "CreateProgram",
        strategy,
        |(name, description, start_date, request_id, id, course_ids)| {
            let req = CreateProgramRequest {
                program: Some(Program {
                    id,
                    name: name.clone(),
                    description,
                    start_date,
                    course_ids,
                    create_time: None,
                }),
                request_id,
            };
            let mut c = t.client.clone();
            let created = t.write("CreateProgram", async move { c.create_program(req).await })?;
            if let Some(program) = created.filter(|p| t.first_time(&p.id)) {
                prop_assert!(!h::never_valid_text(&name, 200));
                prop_assert_eq!(program.name.as_str(), h::kept(&name));
                prop_assert_eq!(start_date, program.start_date);
                prop_assert!(program.course_ids.is_empty());
            }
            Ok(())
        },
    );
}

#[test]
fn get_and_list_programs_refuse_hostile_input() {
    let t = Hostile::start();
    let strategy = (
        h::id(),
        h::int32(),
        prop_oneof![Just(String::new()), h::page_token("")],
    );
    h::check(
        "GetProgram/ListPrograms",
        strategy,
        |(id, page_size, page_token)| {
            let mut c = t.client.clone();
            let found = t.read("GetProgram", async move {
                c.get_program(GetProgramRequest { id }).await
            })?;
            prop_assert!(found.is_none(), "a made-up id found a program");
            let mut c = t.client.clone();
            let req = ListProgramsRequest {
                page_size,
                page_token,
            };
            if let Some(page) = t.read("ListPrograms", async move { c.list_programs(req).await })? {
                prop_assert!(page_size >= 0);
                prop_assert!(page.programs.len() <= 1000);
            }
            Ok(())
        },
    );
}

#[test]
fn add_course_to_program_refuses_hostile_ids_without_writing() {
    let t = Hostile::start();
    let strategy = (
        id_or(vec![t.program.id.clone()]),
        id_or(vec![t.draft.id.clone(), t.published.id.clone()]),
    );
    h::check("AddCourseToProgram", strategy, |(program_id, course_id)| {
        let req = AddCourseToProgramRequest {
            program_id,
            course_id,
        };
        let mut c = t.client.clone();
        t.write("AddCourseToProgram", async move {
            c.add_course_to_program(req).await
        })?;
        Ok(())
    });
}

#[test]
fn feed_refuses_hostile_cursors_and_metadata() {
    let t = Hostile::start();
    let strategy = (h::int64(), h::metadata());
    h::check(
        "Subscribe/GetHead",
        strategy,
        |(after_sequence, headers)| {
            let mut feed = t.feed.clone();
            let request = h::request(GetHeadRequest {}, &headers);
            let head = t
                .read("GetHead", async move { feed.get_head(request).await })?
                .map(|h| h.head_sequence);
            prop_assert!(head.is_some(), "GetHead is always valid");
            let mut feed = t.feed.clone();
            let request = h::request(SubscribeRequest { after_sequence }, &headers);
            let first = t.read("Subscribe", async move {
                let mut stream = feed.subscribe(request).await?.into_inner();
                // The stream never ends: take what comes within a moment.
                match tokio::time::timeout(Duration::from_millis(150), stream.message()).await {
                    Ok(message) => message.map(Response::new),
                    Err(_) => Ok(Response::new(None)),
                }
            })?;
            if let Some(first) = first {
                prop_assert!(after_sequence >= 0);
                if let Some(event) = first {
                    prop_assert!(event.sequence > after_sequence);
                }
            }
            Ok(())
        },
    );
}

#[test]
fn the_audit_log_refuses_hostile_filters_and_tokens() {
    let t = Hostile::start();
    let audit = t.rig.rt.block_on(t.rig.served().audit());
    let strategy = (
        h::int32(),
        // The fingerprint of empty filters, so crafted keys reach the query.
        h::page_token("actor=\"\";resource=\"\""),
        text_or(""),
        text_or(""),
        h::metadata(),
    );
    h::check(
        "ListAuditEntries",
        strategy,
        |(page_size, page_token, actor, resource_id, headers)| {
            let mut audit = audit.clone();
            let request = h::request(
                ListAuditEntriesRequest {
                    page_size,
                    page_token,
                    actor,
                    resource_id,
                },
                &headers,
            );
            let page = t.read("ListAuditEntries", async move {
                audit.list_audit_entries(request).await
            })?;
            if let Some(page) = page {
                prop_assert!(page.entries.len() <= 1000);
                prop_assert!(page.entries.windows(2).all(|w| w[0].id > w[1].id));
            }
            Ok(())
        },
    );
}

#[test]
fn hostile_metadata_on_every_course_rpc_is_harmless() {
    let t = Hostile::start();
    h::check("CourseService metadata", h::metadata(), |headers| {
        let with = |id: &str| h::request(GetCourseRequest { id: id.to_owned() }, &headers);
        let mut c = t.client.clone();
        let req = with(&t.published.id);
        let got = t.read("GetCourse", async move { c.get_course(req).await })?;
        prop_assert!(got.is_some(), "a valid GetCourse was refused");
        let mut c = t.client.clone();
        let req = h::request(ListCoursesRequest::default(), &headers);
        let listed = t.read("ListCourses", async move { c.list_courses(req).await })?;
        prop_assert!(listed.is_some(), "a valid ListCourses was refused");
        let mut c = t.client.clone();
        let req = h::request(ListSkillsRequest::default(), &headers);
        let listed = t.read("ListSkills", async move { c.list_skills(req).await })?;
        prop_assert!(listed.is_some(), "a valid ListSkills was refused");
        let mut c = t.client.clone();
        let req = h::request(
            GetProgramRequest {
                id: t.program.id.clone(),
            },
            &headers,
        );
        let got = t.read("GetProgram", async move { c.get_program(req).await })?;
        prop_assert!(got.is_some(), "a valid GetProgram was refused");
        let mut c = t.client.clone();
        let req = h::request(
            AddCourseToProgramRequest {
                program_id: t.program.id.clone(),
                course_id: t.published.id.clone(),
            },
            &headers,
        );
        let added = t.write("AddCourseToProgram", async move {
            c.add_course_to_program(req).await
        })?;
        prop_assert!(added.is_some(), "a valid AddCourseToProgram was refused");
        Ok(())
    });
}

/// Metadata past HTTP/2's header-list limit never reaches the service: the
/// transport refuses it. The server must stay up and keep serving.
#[test]
fn oversized_metadata_is_refused_by_the_transport_and_the_server_lives_on() {
    let t = Hostile::start();
    t.rig.rt.block_on(async {
        let mut request = Request::new(GetCourseRequest {
            id: t.published.id.clone(),
        });
        request
            .metadata_mut()
            .insert("x-request-id", "r".repeat(h::HUGE).parse().unwrap());
        let reply = t.client.clone().get_course(request).await;
        // Refused before it reaches the service (RESOURCE_EXHAUSTED from
        // the HTTP/2 layer), or served; never INTERNAL, and the server lives.
        if let Err(status) = &reply {
            assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
        }
        t.alive("a 100 KiB x-request-id").await.unwrap();
    });
}

/// Found by the properties above: an unknown mask path was echoed whole in
/// the INVALID_ARGUMENT, and a 100 KiB path made a status too big for its
/// headers; the caller got a transport error instead of the violation. A
/// mask naming thousands of paths could do the same with one violation each.
#[test]
fn update_mask_refusals_stay_small_whatever_the_mask() {
    let t = Hostile::start();
    for paths in h::oversized_masks("title") {
        let req = UpdateCourseRequest {
            course: Some(Course {
                id: t.draft.id.clone(),
                title: "\0".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths }),
            etag: String::new(),
        };
        let status = t
            .rig
            .rt
            .block_on(t.client.clone().update_course(req))
            .unwrap_err();
        h::assert_small_mask_refusal(&status);
    }
}

/// Found while writing these properties: a program's start date was refused
/// only when the day did not exist, so year -5000 reached the database,
/// which PostgreSQL answers with "date out of range" (INTERNAL). Dates
/// outside 1900-2999 are now INVALID_ARGUMENT on both backends, and nothing
/// is created.
async fn far_off_program_start_dates_are_invalid(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    for year in [-5000, 0, 1899, 3000, 262_000] {
        let status = client
            .create_program(CreateProgramRequest {
                program: Some(Program {
                    name: format!("Program {year}"),
                    start_date: Some(date(year, 1, 1)),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["program.start_date"], "{year}");
    }
    let listed = client
        .list_programs(ListProgramsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.programs.is_empty());
    server.stop().await;
}

/// A page token is opaque but not secret: anyone can decode one, change the
/// sort key it carries and encode it again. A key PostgreSQL cannot even
/// hold (a NUL byte), or a huge one, must be refused like any other bad
/// token, not fail in the database.
async fn forged_page_tokens_are_invalid(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    for name in ["One", "Two"] {
        create_skill(&mut client, name).await;
    }
    let page = client
        .list_skills(ListSkillsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let token = academy_domain::PageToken::decode(&page.next_page_token).unwrap();
    for after in ["\0".to_owned(), "a\0b".to_owned(), "x".repeat(h::HUGE)] {
        let forged = academy_domain::PageToken {
            after,
            filters: token.filters,
        }
        .encode();
        let status = client
            .list_skills(ListSkillsRequest {
                page_size: 1,
                page_token: forged,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
    server.stop().await;
}

academy_testkit::on_both_backends!(
    far_off_program_start_dates_are_invalid,
    forged_page_tokens_are_invalid,
);

#[test]
fn lookup_course_refuses_hostile_keys() {
    use lookup_course_request::Key;
    let t = Hostile::start();
    let strategy = prop_oneof![
        Just(None),
        h::text().prop_map(|x| Some(Key::Code(x))),
        h::text().prop_map(|x| Some(Key::ProviderCourseId(x))),
    ];
    h::check("LookupCourse", strategy, |key| {
        let mut c = t.client.clone();
        let reply = t.read("LookupCourse", async move {
            c.lookup_course(LookupCourseRequest { key }).await
        })?;
        prop_assert!(reply.is_none(), "a made-up key found a course");
        Ok(())
    });
}
