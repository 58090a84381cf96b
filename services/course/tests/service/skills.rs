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
    let seen = pages(|page_token| {
        let mut client = client.clone();
        async move {
            let request = ListSkillsRequest {
                page_size: 2,
                page_token,
                ..Default::default()
            };
            let page = client.list_skills(request).await.unwrap().into_inner();
            assert!(page.skills.len() <= 2);
            let ids = page.skills.into_iter().map(|s| s.id).collect();
            (ids, page.next_page_token)
        }
    })
    .await;
    assert_eq!(
        seen.concat(),
        created,
        "every skill once, in creation order"
    );

    let other = ListSkillsRequest {
        category: "Nope".into(),
        ..Default::default()
    };
    let other = client.list_skills(other).await.unwrap().into_inner();
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
    assert_eq!(all_skills(&mut client).await.len(), 1);
}

async fn invalid_skill_names_every_bad_field(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut bad = skill(" ");
    bad.skill.as_mut().unwrap().category = "x".repeat(101);
    let bad = client.create_skill(bad).await;
    expect_invalid(bad, &["skill.name", "skill.category"]);
    let empty = CreateSkillRequest::default();
    expect_invalid(client.create_skill(empty).await, &["skill"]);
    assert!(all_skills(&mut client).await.is_empty(), "nothing written");
}

async fn create_skill_with_request_id_is_idempotent(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    let mut request = skill("Cloud");
    request.request_id = "req-1".into();
    let first = client.create_skill(request.clone()).await.unwrap();
    let again = client.create_skill(request).await.unwrap();
    assert_eq!(first.into_inner(), again.into_inner());
    assert_eq!(all_skills(&mut client).await.len(), 1);
}

async fn bad_page_tokens_are_invalid_argument(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    for i in 0..3 {
        create_skill(&mut client, &format!("S{i}")).await;
    }
    let list = |page_size: i32, page_token: &str, category: &str| ListSkillsRequest {
        page_size,
        page_token: page_token.into(),
        category: category.into(),
    };
    let garbage = client.list_skills(list(0, "garbage!", "")).await;
    expect_invalid(garbage, &["page_token"]);
    let page = client
        .list_skills(list(1, "", ""))
        .await
        .unwrap()
        .into_inner();
    // A token is only good for the filters it was made with.
    let other_filter = list(1, &page.next_page_token, "Other");
    expect_invalid(client.list_skills(other_filter).await, &["page_token"]);
    let negative = client.list_skills(list(-1, "", "")).await;
    expect_invalid(negative, &["page_size"]);
}
