//! Unknown demographics and education level (#17 item 2): explicit unknown
//! values are accepted by every write path, stored, returned and carried in
//! the feed as "unknown"; education level is an ISCED level 0-8 or unset
//! (unknown); anything else is INVALID_ARGUMENT naming the field, with
//! nothing written.

use academy_proto::events::event::Payload;
use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    unknown_demographics_are_stored_returned_and_in_the_feed,
    education_level_out_of_range_is_refused_and_writes_nothing,
    update_sets_and_clears_education_and_unknowns,
    import_and_sync_accept_unknown_demographics,
);

/// A learner whose provider knew only email and name.
fn unknown(email: &str) -> RegisterLearnerRequest {
    let mut request = register(email);
    let l = request.learner.as_mut().unwrap();
    l.region = "Unknown".into();
    l.gender = Gender::Unknown as i32;
    l.birth_year = 0;
    l.employment_status = EmploymentStatus::Unknown as i32;
    l.education_level = None;
    request
}

/// The learner payloads of the first `n` events of the feed.
async fn learner_events(stack: &Stack, n: usize) -> Vec<Payload> {
    let events = first_events(stack, n).await;
    events
        .into_iter()
        .map(|event| event.payload.unwrap())
        .collect()
}

async fn count(stack: &Stack) -> usize {
    all_learners(stack).await.len()
}

async fn unknown_demographics_are_stored_returned_and_in_the_feed(db: TestDb) {
    let stack = Stack::start(db).await;
    let created = register_learner(&stack, unknown("nobody@example.az")).await;
    assert_eq!(created.region, "unknown");
    assert_eq!(created.gender(), Gender::Unknown);
    assert_eq!(created.birth_year, 0);
    assert_eq!(created.employment_status(), EmploymentStatus::Unknown);
    assert_eq!(created.education_level, None);
    assert_eq!(get_learner(&stack, &created.id).await, created);

    let mut educated = register("educated@example.az");
    educated.learner.as_mut().unwrap().education_level = Some(6);
    let educated = register_learner(&stack, educated).await;
    assert_eq!(educated.education_level, Some(6));

    let events = learner_events(&stack, 2).await;
    let Payload::LearnerRegistered(first) = &events[0] else {
        panic!("expected learner.registered, got {:?}", events[0]);
    };
    assert_eq!(
        (
            first.region.as_str(),
            first.gender.as_str(),
            first.birth_year,
            first.employment_status.as_str(),
            first.education_level.as_str()
        ),
        ("unknown", "unknown", 0, "unknown", "unknown")
    );
    let Payload::LearnerRegistered(second) = &events[1] else {
        panic!("expected learner.registered, got {:?}", events[1]);
    };
    assert_eq!(second.education_level, "ISCED_6");
    assert_eq!(second.gender, "FEMALE");
}

async fn education_level_out_of_range_is_refused_and_writes_nothing(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut client = stack.learners().await;
    for level in [-1, 9, i32::MAX, i32::MIN] {
        let mut request = register("out.of.range@example.az");
        request.learner.as_mut().unwrap().education_level = Some(level);
        let status = client.register_learner(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{level}");
        assert!(
            status.message().contains("learner.education_level"),
            "{level}: {}",
            status.message()
        );
    }
    // An empty region is still missing, not unknown; UNSPECIFIED still
    // rejected: unknown must be said.
    let mut empty = unknown("empty@example.az");
    empty.learner.as_mut().unwrap().region = String::new();
    empty.learner.as_mut().unwrap().gender = Gender::Unspecified as i32;
    let status = client.register_learner(empty).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("learner.region"));
    assert!(status.message().contains("learner.gender"));
    assert_eq!(count(&stack).await, 0, "nothing written");

    let mut bad_row = register("row@example.az");
    bad_row.learner.as_mut().unwrap().education_level = Some(9);
    let reply = import_learners(&stack, vec![bad_row]).await;
    assert_eq!((reply.created, reply.rejected_count), (0, 1));
    assert_eq!(reply.rejected[0].field, "learner.education_level");
    assert_eq!(count(&stack).await, 0, "nothing written");
}

async fn update_sets_and_clears_education_and_unknowns(db: TestDb) {
    let stack = Stack::start(db).await;
    let created = registered(&stack, "update@example.az").await;
    let mut client = stack.learners().await;
    // `learner`'s fields under `paths` become the created learner's.
    let update = |learner: Learner, paths: &[&str]| UpdateLearnerRequest {
        learner: Some(Learner {
            id: created.id.clone(),
            ..learner
        }),
        update_mask: mask(paths),
        ..Default::default()
    };
    let unknowns = Learner {
        education_level: Some(3),
        region: "UNKNOWN".into(),
        gender: Gender::Unknown as i32,
        birth_year: 0,
        employment_status: EmploymentStatus::Unknown as i32,
        ..Default::default()
    };
    let paths = [
        "education_level",
        "region",
        "gender",
        "birth_year",
        "employment_status",
    ];
    let updated = client.update_learner(update(unknowns, &paths)).await;
    let updated = updated.unwrap().into_inner();
    assert_eq!(updated.education_level, Some(3));
    assert_eq!(updated.region, "unknown");
    assert_eq!(updated.gender(), Gender::Unknown);
    assert_eq!(updated.birth_year, 0);
    assert_eq!(updated.employment_status(), EmploymentStatus::Unknown);

    let out_of_range = Learner {
        education_level: Some(42),
        ..Default::default()
    };
    let refused = client
        .update_learner(update(out_of_range, &["education_level"]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("learner.education_level"));

    // Unset under the mask is unknown again.
    let unset = update(Learner::default(), &["education_level"]);
    let cleared = client.update_learner(unset).await.unwrap().into_inner();
    assert_eq!(cleared.education_level, None);
    assert_eq!(cleared.region, "unknown", "other fields untouched");
    let events = learner_events(&stack, 3).await;
    let Payload::LearnerUpdated(first) = &events[1] else {
        panic!("expected learner.updated, got {:?}", events[1]);
    };
    assert_eq!(
        (first.education_level.as_str(), first.region.as_str()),
        ("ISCED_3", "unknown")
    );
    let Payload::LearnerUpdated(second) = &events[2] else {
        panic!("expected learner.updated, got {:?}", events[2]);
    };
    assert_eq!(second.education_level, "unknown");
}

async fn import_and_sync_accept_unknown_demographics(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut row = unknown("imported@example.az");
    row.learner.as_mut().unwrap().external_id = Some("SIS-9".into());
    let imported = import_learners(&stack, vec![row.clone()]).await;
    assert_eq!((imported.created, imported.rejected_count), (1, 0));
    let id = imported.results[0].learner_id.clone();

    // The SIS learns the education level and birth year later.
    let learner = row.learner.as_mut().unwrap();
    learner.education_level = Some(4);
    learner.birth_year = 1990;
    let synced = sync_learners(&stack, vec![row]).await;
    assert_eq!((synced.updated, synced.rejected_count), (1, 0));
    let fetched = get_learner(&stack, &id).await;
    assert_eq!(
        (
            fetched.education_level,
            fetched.birth_year,
            fetched.region.as_str()
        ),
        (Some(4), 1990, "unknown")
    );
}
