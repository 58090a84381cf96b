use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};

use crate::common::*;

on_both_backends!(
    import_counts_created_duplicate_and_rejected_rows,
    bulk_enroll_has_per_row_results,
    a_stream_longer_than_the_cap_keeps_the_rows_before_it,
    import_answers_each_row_with_its_learner_id,
    import_rejects_key_conflicts_with_the_reason,
    lookup_finds_a_learner_by_external_id_or_email,
    sync_updates_learners_matched_by_external_id,
);

fn row(email: &str, external_id: Option<&str>) -> RegisterLearnerRequest {
    let mut request = register(email);
    request.learner.as_mut().unwrap().external_id = external_id.map(str::to_owned);
    request
}

async fn a_stream_longer_than_the_cap_keeps_the_rows_before_it(db: TestDb) {
    // 7 rows per batch, 3 rows per stream: the cap falls inside the first batch.
    let stack = Stack::start_with(db, |settings| settings.max_stream_rows = 3).await;
    let rows: Vec<_> = (0..5)
        .map(|i| row(&format!("capped{i}@example.az"), None))
        .collect();
    let status = stack
        .learners()
        .await
        .import_learners(tokio_stream::iter(rows))
        .await
        .expect_err("too long");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(
        status.message().contains("at most 3 rows"),
        "{}",
        status.message()
    );
    let listed = all_learners(&stack).await;
    let mut emails: Vec<_> = listed.into_iter().map(|l| l.email).collect();
    emails.sort();
    assert_eq!(
        emails,
        [
            "capped0@example.az",
            "capped1@example.az",
            "capped2@example.az"
        ]
    );
}

async fn import_counts_created_duplicate_and_rejected_rows(db: TestDb) {
    let stack = Stack::start(db).await; // 7 rows per batch
    registered(&stack, "existing@example.az").await;
    let mut rows = Vec::new();
    for i in 0..20 {
        rows.push(row(&format!("new{i}@example.az"), Some(&format!("NR-{i}"))));
    }
    rows.push(row("EXISTING@example.az", None)); // 20: known e-mail
    rows.push(row("fresh@example.az", Some("NR-3"))); // 21: external id taken, other email
    rows.push(row("new0@example.az", None)); // 22: earlier in this stream
    let mut bad = row("bad@example.az", None);
    bad.learner.as_mut().unwrap().birth_year = 1800;
    rows.push(bad); // 23: rejected
    rows.push(row("not an email", None)); // 24: rejected
    rows.push(row("after-bad@example.az", None)); // 25: still created

    let reply = import_learners(&stack, rows.clone()).await;
    assert_eq!((reply.created, reply.duplicates), (21, 2));
    assert_eq!(rejected_indexes(&reply.rejected), [21, 23, 24]);
    assert_eq!(reply.rejected[0].field, "learner.external_id");
    assert_eq!(reply.rejected[1].field, "learner.birth_year");
    assert!(!reply.rejected[2].reason.is_empty());
    assert_eq!(
        reply.created + reply.duplicates + reply.rejected.len() as i64,
        rows.len() as i64
    );
    assert_eq!(all_learners(&stack).await.len(), 22);

    // The same file again creates nothing.
    let again = import_learners(&stack, rows).await;
    assert_eq!(
        (again.created, again.duplicates, again.rejected.len()),
        (0, 23, 3)
    );
    assert_eq!(all_learners(&stack).await.len(), 22);
}

async fn bulk_enroll_has_per_row_results(db: TestDb) {
    let stack = Stack::start(db).await;
    let published = course(&stack, "BULK-1", 2, true).await;
    let draft = course(&stack, "BULK-2", 1, false).await;
    let mut learners = Vec::new();
    for i in 0..10 {
        learners.push(registered(&stack, &format!("b{i}@example.az")).await.id);
    }
    let mut rows: Vec<EnrollRequest> = learners.iter().map(|l| enroll(l, &published.id)).collect();
    rows.push(enroll(&learners[0], &published.id)); // 10: duplicate of row 0
    rows.push(enroll(UNKNOWN_ID, &published.id)); // 11: unknown learner
    rows.push(enroll(&learners[1], UNKNOWN_ID)); // 12: unknown course
    rows.push(enroll(&learners[2], &draft.id)); // 13: not published
    rows.push(enroll("nope", &published.id)); // 14: malformed id
    let reply = bulk_enroll(&stack, rows.clone()).await;
    assert_eq!((reply.created, reply.duplicates), (10, 1));
    assert_eq!(rejected_indexes(&reply.rejected), [11, 12, 13, 14]);
    assert_eq!(reply.rejected[3].field, "learner_id");
    let again = bulk_enroll(&stack, rows).await;
    assert_eq!((again.created, again.duplicates), (0, 11));
    let listed = stack
        .enrollments()
        .await
        .list_enrollments(ListEnrollmentsRequest {
            course_id: published.id,
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.enrollments.len(), 10);
}

async fn import_answers_each_row_with_its_learner_id(db: TestDb) {
    let stack = Stack::start(db).await; // 7 rows per batch: results span batches
    let known = registered(&stack, "known@example.az").await;
    let mut rows: Vec<_> = (0..10)
        .map(|i| row(&format!("r{i}@example.az"), Some(&format!("R-{i}"))))
        .collect();
    rows.push(row("known@example.az", None)); // 10: already there
    rows.push(row("r4@example.az", Some("R-4"))); // 11: earlier in this stream
    rows.push(row("not an email", None)); // 12: rejected
    let reply = import_learners(&stack, rows.clone()).await;
    let outcomes: Vec<_> = reply
        .results
        .iter()
        .map(|r| (r.index, r.outcome()))
        .collect();
    let mut expected: Vec<_> = (0..10).map(|i| (i, ImportOutcome::Created)).collect();
    expected.push((10, ImportOutcome::AlreadyExists));
    expected.push((11, ImportOutcome::AlreadyExists));
    expected.push((12, ImportOutcome::Rejected));
    assert_eq!(outcomes, expected);
    assert_eq!(reply.results[10].learner_id, known.id);
    assert_eq!(reply.results[11].learner_id, reply.results[4].learner_id);
    assert!(reply.results[12].learner_id.is_empty());
    // Every created id is the learner of that row.
    for result in &reply.results[..10] {
        let got = get_learner(&stack, &result.learner_id).await;
        assert_eq!(got.email, format!("r{}@example.az", result.index));
    }
    // Again: every row answers the same id, now as already there.
    let again = import_learners(&stack, rows).await;
    for (first, second) in reply.results.iter().zip(&again.results) {
        assert_eq!(first.learner_id, second.learner_id);
        if first.outcome() != ImportOutcome::Rejected {
            assert_eq!(second.outcome(), ImportOutcome::AlreadyExists);
        }
    }
}

async fn import_rejects_key_conflicts_with_the_reason(db: TestDb) {
    let stack = Stack::start(db).await;
    let known = vec![
        row("ayla@example.az", Some("CS-1")),
        row("bahar@example.az", None),
    ];
    let seeded = import_learners(&stack, known).await;
    assert_eq!(seeded.created, 2);
    let rows = vec![
        row("ayla@example.az", Some("CS-9")), // 0: email known, other external id
        row("other@example.az", Some("CS-1")), // 1: external id known, other email
        row("bahar@example.az", Some("CS-2")), // 2: email known without external id
        row("ayla@example.az", Some("CS-1")), // 3: the same learner
    ];
    let reply = import_learners(&stack, rows).await;
    assert_eq!(
        (reply.created, reply.duplicates, reply.rejected_count),
        (0, 1, 3)
    );
    let rejected = rejected_fields(&reply.rejected);
    assert_eq!(
        rejected,
        [
            (0, "learner.email"),
            (1, "learner.external_id"),
            (2, "learner.email")
        ]
    );
    assert!(reply.rejected[0].reason.contains("another external_id"));
    assert!(reply.rejected[1].reason.contains("another email"));
    // Nothing changed: the new external ids were not silently dropped onto anyone.
    let learners = all_learners(&stack).await;
    assert_eq!(learners.len(), 2);
    let ayla = learners
        .iter()
        .find(|l| l.email == "ayla@example.az")
        .unwrap();
    assert_eq!(ayla.external_id.as_deref(), Some("CS-1"));
    assert_eq!(reply.results[3].learner_id, ayla.id);
}

async fn lookup_finds_a_learner_by_external_id_or_email(db: TestDb) {
    use lookup_learner_request::Key;
    let stack = Stack::start(db).await;
    let request = row("Nigar@Example.az", Some("COURSERA-77"));
    let created = register_learner(&stack, request).await;
    let lookup = |key: Option<Key>| {
        let stack = &stack;
        async move {
            stack
                .learners()
                .await
                .lookup_learner(LookupLearnerRequest { key })
                .await
        }
    };
    let by_external = lookup(Some(Key::ExternalId("COURSERA-77".into())))
        .await
        .unwrap();
    assert_eq!(by_external.into_inner().id, created.id);
    let by_email = lookup(Some(Key::Email("  NIGAR@example.AZ ".into())))
        .await
        .unwrap();
    assert_eq!(by_email.into_inner().id, created.id);

    // Not found, and the refusal does not echo the key it was given.
    for (key, echo) in [
        (Key::ExternalId("COURSERA-78".into()), "COURSERA"),
        (Key::Email("nobody@example.az".into()), "nobody"),
    ] {
        let missing = expect_code(lookup(Some(key)).await, tonic::Code::NotFound);
        assert!(!missing.message().contains(echo), "{}", missing.message());
    }
    for (key, field) in [
        (None, "key"),
        (Some(Key::Email("not an email".into())), "email"),
        (Some(Key::ExternalId(" ".into())), "external_id"),
    ] {
        expect_invalid(lookup(key).await, &[field]);
    }

    // An erased learner has no keys any more.
    erase(&stack, &created.id).await;
    let gone = lookup(Some(Key::ExternalId("COURSERA-77".into()))).await;
    expect_code(gone, tonic::Code::NotFound);
}

async fn sync_updates_learners_matched_by_external_id(db: TestDb) {
    let stack = Stack::start(db).await;
    let known = vec![
        row("one@example.az", Some("SIS-1")),
        row("two@example.az", Some("SIS-2")),
        row("three@example.az", Some("SIS-3")),
    ];
    let seeded = import_learners(&stack, known).await;
    let ids: Vec<_> = seeded
        .results
        .iter()
        .map(|r| r.learner_id.clone())
        .collect();
    let mut moved = row("one@example.az", Some("SIS-1"));
    moved.learner.as_mut().unwrap().region = "Ganja-Dashkasan".into();
    let renamed = row("two.new@example.az", Some("SIS-2"));
    let taken = row("one@example.az", Some("SIS-3")); // another learner's email
    let rows = vec![
        moved,                                  // 0: updated
        renamed,                                // 1: updated (email)
        taken,                                  // 2: rejected
        row("four@example.az", Some("SIS-4")),  // 3: created
        row("three@example.az", Some("SIS-3")), // 4: unchanged
    ];
    let reply = sync_learners(&stack, rows.clone()).await;
    let outcomes: Vec<_> = reply.results.iter().map(|r| r.outcome()).collect();
    assert_eq!(
        outcomes,
        [
            ImportOutcome::Updated,
            ImportOutcome::Updated,
            ImportOutcome::Rejected,
            ImportOutcome::Created,
            ImportOutcome::AlreadyExists
        ]
    );
    assert_eq!(
        (
            reply.created,
            reply.updated,
            reply.duplicates,
            reply.rejected_count
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(reply.rejected[0].field, "learner.email");
    assert_eq!(reply.results[0].learner_id, ids[0]);
    assert_eq!(reply.results[1].learner_id, ids[1]);
    let get = |id| get_learner(&stack, id);
    assert_eq!(get(&ids[0]).await.region, "Ganja-Dashkasan");
    assert_eq!(get(&ids[1]).await.email, "two.new@example.az");
    assert_eq!(get(&ids[2]).await.email, "three@example.az");
    // Each update is a learner.updated event, after the three registrations.
    assert_eq!(
        feed_types(&stack, 6).await,
        [
            "learner.registered",
            "learner.registered",
            "learner.registered",
            "learner.updated",
            "learner.updated",
            "learner.registered"
        ]
    );

    // The same sync again changes nothing.
    let again = sync_learners(&stack, rows).await;
    assert_eq!(
        (
            again.created,
            again.updated,
            again.duplicates,
            again.rejected_count
        ),
        (0, 0, 4, 1)
    );
    // ImportLearners never updates: the changed row is a conflict there.
    let import = import_learners(&stack, vec![row("two.other@example.az", Some("SIS-2"))]).await;
    assert_eq!((import.updated, import.rejected_count), (0, 1));
    assert_eq!(get(&ids[1]).await.email, "two.new@example.az");
    let head = feed_head(&stack).await;
    assert_eq!(head, 6, "the second sync wrote no event");
}

/// The types of the first `n` events of the learner feed.
async fn feed_types(stack: &Stack, n: usize) -> Vec<String> {
    let events = first_events(stack, n).await;
    events.into_iter().map(|event| event.r#type).collect()
}
