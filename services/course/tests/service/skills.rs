use academy_proto::course::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    creates_and_lists_skills_across_pages,
    duplicate_skill_name_is_already_exists,
    invalid_skill_names_every_bad_field,
    create_skill_with_request_id_is_idempotent,
    bad_page_tokens_are_invalid_argument,
);

async fn creates_and_lists_skills_across_pages(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(create_skill(&mut client, &format!("Skill {i}")).await.id);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_skills(ListSkillsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.skills.len() <= 2);
        seen.extend(page.skills.into_iter().map(|s| s.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, created, "every skill once, in creation order");

    let other = client
        .list_skills(ListSkillsRequest {
            category: "Nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(other.skills.is_empty());
}

async fn duplicate_skill_name_is_already_exists(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    create_skill(&mut client, "Cybersecurity").await;
    expect_code(
        client.create_skill(skill("Cybersecurity")).await,
        Code::AlreadyExists,
    );
    let all = client
        .list_skills(ListSkillsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.skills.len(), 1);
}

async fn invalid_skill_names_every_bad_field(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let status = expect_code(
        client
            .create_skill(CreateSkillRequest {
                skill: Some(Skill {
                    name: " ".into(),
                    category: "x".repeat(101),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["skill.name", "skill.category"]);
    let status = expect_code(
        client.create_skill(CreateSkillRequest::default()).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["skill"]);
    let all = client
        .list_skills(ListSkillsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(all.skills.is_empty(), "nothing written");
}

async fn create_skill_with_request_id_is_idempotent(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut request = skill("Cloud");
    request.request_id = "req-1".into();
    let first = client
        .create_skill(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = client.create_skill(request).await.unwrap().into_inner();
    assert_eq!(first, again);
    let all = client
        .list_skills(ListSkillsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.skills.len(), 1);
}

async fn bad_page_tokens_are_invalid_argument(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    for i in 0..3 {
        create_skill(&mut client, &format!("S{i}")).await;
    }
    let status = expect_code(
        client
            .list_skills(ListSkillsRequest {
                page_token: "garbage!".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["page_token"]);
    let page = client
        .list_skills(ListSkillsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let status = expect_code(
        client
            .list_skills(ListSkillsRequest {
                page_size: 1,
                page_token: page.next_page_token,
                category: "Other".into(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["page_token"]);
    let status = expect_code(
        client
            .list_skills(ListSkillsRequest {
                page_size: -1,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["page_size"]);
}
