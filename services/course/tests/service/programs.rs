use academy_proto::course::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    program_lifecycle,
    program_errors,
    program_create_is_idempotent,
);

fn program(name: &str) -> CreateProgramRequest {
    CreateProgramRequest {
        program: Some(Program {
            name: name.into(),
            description: "National digital-skills initiative".into(),
            start_date: Some(date(2014, 9, 1)),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn program_lifecycle(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let created = client
        .create_program(program("C4IR Academy National Program"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.start_date, Some(date(2014, 9, 1)));
    assert!(created.course_ids.is_empty());

    let a = create_course(&mut client, "DA-101", vec![]).await;
    let b = create_course(&mut client, "CS-101", vec![]).await;
    for course in [&a, &b, &a] {
        client
            .add_course_to_program(AddCourseToProgramRequest {
                program_id: created.id.clone(),
                course_id: course.id.clone(),
            })
            .await
            .unwrap();
    }
    let fetched = client
        .get_program(GetProgramRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        fetched.course_ids,
        [a.id.clone(), b.id.clone()],
        "adding twice is a no-op"
    );

    client.create_program(program("Second")).await.unwrap();
    let page = client
        .list_programs(ListProgramsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.programs.len(), 1);
    assert_eq!(page.programs[0].id, created.id);
    let rest = client
        .list_programs(ListProgramsRequest {
            page_size: 1,
            page_token: page.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.programs[0].name, "Second");
    assert!(rest.next_page_token.is_empty());
}

async fn program_errors(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let p = client
        .create_program(program("P"))
        .await
        .unwrap()
        .into_inner();
    expect_code(
        client.create_program(program("P")).await,
        Code::AlreadyExists,
    );

    let mut bad = program(" ");
    bad.program.as_mut().unwrap().start_date = Some(date(2025, 2, 30));
    let status = expect_code(client.create_program(bad).await, Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["program.name", "program.start_date"]
    );

    let unknown = "01900000-0000-7000-8000-000000000000".to_string();
    expect_code(
        client
            .get_program(GetProgramRequest {
                id: unknown.clone(),
            })
            .await,
        Code::NotFound,
    );
    expect_code(
        client
            .get_program(GetProgramRequest { id: "x".into() })
            .await,
        Code::InvalidArgument,
    );

    let course = create_course(&mut client, "OLD-1", vec![]).await;
    let add = |program_id: &str, course_id: &str| AddCourseToProgramRequest {
        program_id: program_id.into(),
        course_id: course_id.into(),
    };
    expect_code(
        client
            .add_course_to_program(add(&unknown, &course.id))
            .await,
        Code::NotFound,
    );
    expect_code(
        client.add_course_to_program(add(&p.id, &unknown)).await,
        Code::NotFound,
    );
    let status = expect_code(
        client.add_course_to_program(add("", "nope")).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["program_id", "course_id"]);

    client
        .archive_course(ArchiveCourseRequest {
            id: course.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    expect_code(
        client.add_course_to_program(add(&p.id, &course.id)).await,
        Code::FailedPrecondition,
    );
    let fetched = client
        .get_program(GetProgramRequest { id: p.id })
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.course_ids.is_empty(), "nothing changed");
}

async fn program_create_is_idempotent(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut request = program("Retry");
    request.request_id = "p-1".into();
    let first = client
        .create_program(request.clone())
        .await
        .unwrap()
        .into_inner();
    let second = client.create_program(request).await.unwrap().into_inner();
    assert_eq!(first, second);
}
