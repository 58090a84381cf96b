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
    let mut request = program_request(name, date(2014, 9, 1));
    if let Some(program) = request.program.as_mut() {
        program.description = "National digital-skills initiative".into();
    }
    request
}

async fn create_program(client: &mut Client, request: CreateProgramRequest) -> Program {
    client.create_program(request).await.unwrap().into_inner()
}

async fn get_program(client: &mut Client, id: &str) -> Program {
    let request = GetProgramRequest { id: id.into() };
    client.get_program(request).await.unwrap().into_inner()
}

/// One page of programs, `page_size` long, from `page_token`.
async fn list_programs(
    client: &mut Client,
    page_size: i32,
    page_token: String,
) -> ListProgramsResponse {
    let request = ListProgramsRequest {
        page_size,
        page_token,
    };
    client.list_programs(request).await.unwrap().into_inner()
}

async fn program_lifecycle(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let created = create_program(&mut client, program("C4IR Academy National Program")).await;
    assert_eq!(created.start_date, Some(date(2014, 9, 1)));
    assert!(created.course_ids.is_empty());

    let a = create_course(&mut client, "DA-101", vec![]).await;
    let b = create_course(&mut client, "CS-101", vec![]).await;
    for course in [&a, &b, &a] {
        let add = add_course_request(&created.id, &course.id);
        client.add_course_to_program(add).await.unwrap();
    }
    let fetched = get_program(&mut client, &created.id).await;
    assert_eq!(
        fetched.course_ids,
        [a.id.clone(), b.id.clone()],
        "adding twice is a no-op"
    );

    client.create_program(program("Second")).await.unwrap();
    let page = list_programs(&mut client, 1, String::new()).await;
    assert_eq!(page.programs.len(), 1);
    assert_eq!(page.programs[0].id, created.id);
    let rest = list_programs(&mut client, 1, page.next_page_token).await;
    assert_eq!(rest.programs[0].name, "Second");
    assert!(rest.next_page_token.is_empty());
}

async fn program_errors(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let p = create_program(&mut client, program("P")).await;
    expect_code(
        client.create_program(program("P")).await,
        Code::AlreadyExists,
    );

    let mut bad = program(" ");
    bad.program.as_mut().unwrap().start_date = Some(date(2025, 2, 30));
    let bad = client.create_program(bad).await;
    expect_invalid(bad, &["program.name", "program.start_date"]);

    let unknown = "01900000-0000-7000-8000-000000000000".to_string();
    let get = |id: &str| GetProgramRequest { id: id.into() };
    expect_code(client.get_program(get(&unknown)).await, Code::NotFound);
    expect_code(client.get_program(get("x")).await, Code::InvalidArgument);

    let course = create_course(&mut client, "OLD-1", vec![]).await;
    let add = add_course_request;
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
    let malformed = client.add_course_to_program(add("", "nope")).await;
    expect_invalid(malformed, &["program_id", "course_id"]);

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
    let fetched = get_program(&mut client, &p.id).await;
    assert!(fetched.course_ids.is_empty(), "nothing changed");
}

async fn program_create_is_idempotent(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut request = program("Retry");
    request.request_id = "p-1".into();
    let first = create_program(&mut client, request.clone()).await;
    let second = create_program(&mut client, request).await;
    assert_eq!(first, second);
}
