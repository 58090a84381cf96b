use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};

use tonic::Code;

use crate::common::*;

on_both_backends!(
    erasure_leaves_no_personal_data,
    feed_tells_the_story_without_personal_data
);

async fn erasure_leaves_no_personal_data(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut request = register("secret.person@example.az");
    {
        let l = request.learner.as_mut().unwrap();
        l.full_name = "Secret Person".into();
        l.organization = "Secret Org LLC".into();
        l.external_id = Some("NR-SECRET".into());
    }
    let learner = register_learner(&stack, request).await;
    let course = course(&stack, "ER-1", 1, true).await;
    let mut enrollments = stack.enrollments().await;
    enrolled(&stack, &learner.id, &course.id).await;
    let mut client = stack.learners().await;
    let update = |learner: Learner, path: &str| UpdateLearnerRequest {
        learner: Some(learner),
        update_mask: mask(&[path]),
        etag: String::new(),
    };
    let mut change = learner.clone();
    change.organization = "Secret Org Two".into();
    let change = update(change, "organization");
    client.update_learner(change).await.unwrap();

    let erased = erase(&stack, &learner.id).await;
    assert_eq!(erased.state, LearnerState::Erased as i32);
    assert_eq!(
        (
            erased.email.as_str(),
            erased.full_name.as_str(),
            erased.organization.as_str()
        ),
        ("", "", "")
    );
    assert_eq!(erased.external_id, None);
    assert_eq!(
        (erased.region.as_str(), erased.birth_year),
        ("Baku", 1995),
        "anonymous facts stay"
    );
    let again = erase(&stack, &learner.id).await;
    assert_eq!(again, erased, "erasing twice changes nothing");
    let unknown = EraseLearnerRequest {
        id: UNKNOWN_ID.into(),
    };
    expect_code(client.erase_learner(unknown).await, Code::NotFound);
    let change = update(erased.clone(), "region");
    expect_code(
        client.update_learner(change).await,
        Code::FailedPrecondition,
    );
    expect_code(
        enrollments.enroll(enroll(&learner.id, &course.id)).await,
        Code::FailedPrecondition,
    );
    let kept = enrollments_of(&stack, &learner.id).await;
    assert_eq!(kept.len(), 1, "enrollments stay");

    // Nothing personal left in the learner tables or in the stored feed.
    let rows = sql_rows(
        &stack,
        "SELECT COALESCE(email, '') AS email, COALESCE(external_id, '') AS external_id, full_name, organization FROM learners",
    )
    .await;
    let payloads = sql_rows(&stack, "SELECT payload FROM feed_events").await;
    assert!(!payloads.is_empty());
    for secret in [
        "secret.person@example.az",
        "Secret Person",
        "Secret Org",
        "NR-SECRET",
    ] {
        for row in &rows {
            for column in ["email", "external_id", "full_name", "organization"] {
                let value: String = row.try_get("", column).unwrap();
                assert!(
                    !value.contains(secret),
                    "{secret:?} left in learners.{column}"
                );
            }
        }
        for row in &payloads {
            let bytes: Vec<u8> = row.try_get("", "payload").unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret:?} left in a feed payload"
            );
        }
    }

    // The same e-mail may register again, as a new learner.
    let reborn = registered(&stack, "secret.person@example.az").await;
    assert_ne!(reborn.id, learner.id);
}

async fn feed_tells_the_story_without_personal_data(db: TestDb) {
    let stack = Stack::start(db).await;
    let learner = registered(&stack, "story@example.az").await;
    let course = course(&stack, "FD-1", 2, true).await;
    let enrollment = enrolled(&stack, &learner.id, &course.id).await;
    for module in &course.modules {
        record_progress(&stack, progress(&enrollment.id, &module.id, 10)).await;
    }
    assert_eq!(feed_head(&stack).await, 6);
    let events = first_events(&stack, 6).await;
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    assert_eq!(
        events.iter().map(|e| e.r#type.as_str()).collect::<Vec<_>>(),
        [
            "learner.registered",
            "enrollment.created",
            "progress.recorded",
            "progress.recorded",
            "enrollment.completed",
            "certificate.issued"
        ]
    );
    for event in &events {
        let bytes = prost::Message::encode_to_vec(event);
        for secret in ["story@example.az", "Name of story@example.az"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in {}",
                event.r#type
            );
        }
    }
}
