use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};

use crate::common::*;

on_both_backends!(
    import_counts_created_duplicate_and_rejected_rows,
    bulk_enroll_has_per_row_results,
    a_stream_longer_than_the_cap_keeps_the_rows_before_it,
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
    let listed = stack
        .learners()
        .await
        .list_learners(ListLearnersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .learners;
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
    rows.push(row("fresh@example.az", Some("NR-3"))); // 21: known external id
    rows.push(row("new0@example.az", None)); // 22: earlier in this stream
    let mut bad = row("bad@example.az", None);
    bad.learner.as_mut().unwrap().birth_year = 1800;
    rows.push(bad); // 23: rejected
    rows.push(row("not an email", None)); // 24: rejected
    rows.push(row("after-bad@example.az", None)); // 25: still created

    let reply = stack
        .learners()
        .await
        .import_learners(tokio_stream::iter(rows.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((reply.created, reply.duplicates), (21, 3));
    assert_eq!(
        reply.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
        [23, 24]
    );
    assert_eq!(reply.rejected[0].field, "learner.birth_year");
    assert!(!reply.rejected[1].reason.is_empty());
    assert_eq!(
        reply.created + reply.duplicates + reply.rejected.len() as i64,
        rows.len() as i64
    );
    assert_eq!(all_learners(&stack).await.len(), 22);

    // The same file again creates nothing.
    let again = stack
        .learners()
        .await
        .import_learners(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.created, again.duplicates, again.rejected.len()),
        (0, 24, 2)
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
    let reply = stack
        .enrollments()
        .await
        .bulk_enroll(tokio_stream::iter(rows.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((reply.created, reply.duplicates), (10, 1));
    assert_eq!(
        reply.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
        [11, 12, 13, 14]
    );
    assert_eq!(reply.rejected[3].field, "learner_id");
    let again = stack
        .enrollments()
        .await
        .bulk_enroll(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner();
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
