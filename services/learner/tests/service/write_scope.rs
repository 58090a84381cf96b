//! Issue #15, item 5: write does not imply read. A caller without
//! `learners.read` gets no personal data back from RegisterLearner or
//! UpdateLearner, and cannot change the e-mail or external id (whose
//! uniqueness conflicts would tell it who else is registered).

use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    write_answers_carry_no_personal_data_without_read,
    a_write_only_import_learns_no_ids_of_learners_already_there,
);

async fn write_answers_carry_no_personal_data_without_read(db: TestDb) {
    let stack = Stack::start_authenticated(db).await;
    let writer = token("import:hr", &["learners.write"]);
    let officer = token("ops:officer", &["learners.write", "learners.read"]);
    let mut learners = stack.learners().await;
    let taken =
        register_learner(&stack, authorized(register("someone@example.az"), &officer)).await;
    assert_eq!(
        taken.email, "someone@example.az",
        "a reader gets the record"
    );

    let created =
        register_learner(&stack, authorized(register("new.hire@example.az"), &writer)).await;
    assert!(!created.id.is_empty() && !created.etag.is_empty());
    let no_personal_data = |l: &Learner| {
        l.email.is_empty()
            && l.full_name.is_empty()
            && l.organization.is_empty()
            && l.external_id.is_none()
            && l.region.is_empty()
            && l.birth_year == 0
    };
    assert!(no_personal_data(&created), "{created:?}");

    // A profile change: applied, answered with the id and new etag only.
    let mut change = Learner {
        id: taken.id.clone(),
        full_name: "Changed Name".into(),
        ..Default::default()
    };
    // `change` under `paths`, as the caller holding `token`.
    let update = |change: &Learner, paths: &[&str], token: &str| {
        let request = UpdateLearnerRequest {
            learner: Some(change.clone()),
            update_mask: mask(paths),
            etag: String::new(),
        };
        authorized(request, token)
    };
    let updated = learners
        .update_learner(update(&change, &["full_name"], &writer))
        .await
        .unwrap()
        .into_inner();
    assert!(no_personal_data(&updated), "{updated:?}");
    assert_ne!(updated.etag, taken.etag);

    // The e-mail: a yes/no oracle for who is registered, so not without read.
    change.email = "new.hire@example.az".into();
    let email = learners.update_learner(update(&change, &["email"], &writer));
    let status = expect_code(email.await, Code::PermissionDenied);
    assert!(!status.message().contains("new.hire"), "{status:?}");
    let external_id = learners.update_learner(update(&change, &["external_id"], &writer));
    expect_code(external_id.await, Code::PermissionDenied);

    // With read, the conflict is reported as before and the record shown.
    let email = learners.update_learner(update(&change, &["email"], &officer));
    expect_code(email.await, Code::AlreadyExists);
    let read = GetLearnerRequest {
        id: taken.id.clone(),
    };
    let read = learners.get_learner(authorized(read, &officer)).await;
    let read = read.unwrap().into_inner();
    assert_eq!(
        (read.email.as_str(), read.full_name.as_str()),
        ("someone@example.az", "Changed Name")
    );
}

async fn a_write_only_import_learns_no_ids_of_learners_already_there(db: TestDb) {
    let stack = Stack::start_authenticated(db).await;
    let writer = token("import:hr", &["learners.write"]);
    let officer = token("ops:officer", &["learners.write", "learners.read"]);
    let mut learners = stack.learners().await;
    let rows = vec![register("known@example.az"), register("fresh@example.az")];
    // `rows` streamed by the caller holding `token`.
    let stream = |rows: &[RegisterLearnerRequest], token: &str| {
        authorized(tokio_stream::iter(rows.to_vec()), token)
    };
    let known = learners.import_learners(stream(&rows[..1], &officer)).await;
    known.unwrap();
    let reply = learners.import_learners(stream(&rows, &writer)).await;
    let reply = reply.unwrap().into_inner();
    assert_eq!(reply.results[0].outcome(), ImportOutcome::AlreadyExists);
    assert!(reply.results[0].learner_id.is_empty(), "{reply:?}");
    assert_eq!(reply.results[1].outcome(), ImportOutcome::Created);
    assert!(!reply.results[1].learner_id.is_empty());
    // A reader gets both ids.
    let reply = learners.import_learners(stream(&rows, &officer)).await;
    let reply = reply.unwrap().into_inner();
    assert!(
        reply.results.iter().all(|r| !r.learner_id.is_empty()),
        "{reply:?}"
    );
    // LookupLearner is a read.
    use lookup_learner_request::Key;
    // A lookup by `key`, as the caller holding `token`.
    let lookup = |key: Key, token: &str| {
        let request = LookupLearnerRequest { key: Some(key) };
        authorized(request, token)
    };
    let by_email = lookup(Key::Email("known@example.az".into()), &writer);
    let status = learners.lookup_learner(by_email).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // SyncLearners: a write-only caller may change attributes, not emails.
    let member = |email: &str, region: &str| {
        let mut row = register(email);
        let learner = row.learner.as_mut().unwrap();
        learner.external_id = Some("SIS-77".into());
        learner.region = region.into();
        row
    };
    let synced = [member("sync@example.az", "Baku")];
    learners
        .import_learners(stream(&synced, &officer))
        .await
        .unwrap();
    let sync = [
        member("sync@example.az", "Karabakh"),
        member("sync.new@example.az", "Karabakh"),
    ];
    let reply = learners.sync_learners(stream(&sync, &writer)).await;
    let reply = reply.unwrap().into_inner();
    assert_eq!(reply.results[0].outcome(), ImportOutcome::Updated);
    assert!(reply.results[0].learner_id.is_empty(), "{reply:?}");
    assert_eq!(reply.results[1].outcome(), ImportOutcome::Rejected);
    assert!(
        reply.rejected[0].reason.contains("learners.read"),
        "{reply:?}"
    );
    let by_external_id = lookup(Key::ExternalId("SIS-77".into()), &officer);
    let found = learners.lookup_learner(by_external_id).await;
    let found = found.unwrap().into_inner();
    assert_eq!(
        (found.email.as_str(), found.region.as_str()),
        ("sync@example.az", "Karabakh")
    );
}
