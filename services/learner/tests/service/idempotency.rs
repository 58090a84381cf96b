//! Issue #15, item 1: request ids belong to one caller and one method and
//! are bound to the request they came with. A replay of the same request
//! answers the first result; the same request id with another request is
//! FAILED_PRECONDITION and reveals nothing; another caller's request id is
//! no key of yours; keys expire; erasure forgets the learner's keys.

use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use sea_orm::{ConnectionTrait, Database, Statement};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    a_reused_request_id_with_another_request_is_refused_and_reveals_nothing,
    another_callers_request_id_is_not_yours,
    imported_rows_cannot_be_pre_claimed_and_reuse_is_rejected_per_row,
    keys_expire_after_the_window,
    erasure_forgets_the_learners_request_ids,
);

fn reused(status: &tonic::Status) -> bool {
    status.code() == Code::FailedPrecondition
        && academy_testkit::grpc::error_reason(status).as_deref() == Some("REQUEST_ID_REUSED")
}

async fn idempotency_keys(stack: &Stack) -> i64 {
    let rows = sql_rows(stack, "SELECT COUNT(*) AS n FROM idempotency_keys").await;
    rows[0].try_get("", "n").unwrap()
}

async fn a_reused_request_id_with_another_request_is_refused_and_reveals_nothing(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut learners = stack.learners().await;
    let first = register_with_request_id("first.person@example.az", "signup-1");
    let created = register_learner(&stack, first.clone()).await;
    let replay = register_learner(&stack, first).await;
    assert_eq!(replay, created, "same request: the first result");

    let other = register_with_request_id("someone.else@example.az", "signup-1");
    let status = learners.register_learner(other).await.unwrap_err();
    assert!(reused(&status), "{status:?}");
    let shown = format!("{status:?}");
    assert!(
        !shown.contains("first.person") && !shown.contains(&created.id),
        "the refusal reveals the first request: {shown}"
    );
    assert_eq!(all_learners(&stack).await.len(), 1, "nothing written");

    // Enroll: the same request id on another course drops nothing silently.
    let course_a = course(&stack, "IDEM-A", 2, true).await;
    let course_b = course(&stack, "IDEM-B", 2, true).await;
    let mut enrollments = stack.enrollments().await;
    let mut enroll_a = enroll(&created.id, &course_a.id);
    enroll_a.request_id = "enroll-1".into();
    let enrolled = enroll_as(&stack, enroll_a.clone()).await;
    assert_eq!(enroll_as(&stack, enroll_a).await.id, enrolled.id);
    let mut enroll_b = enroll(&created.id, &course_b.id);
    enroll_b.request_id = "enroll-1".into();
    let status = enrollments.enroll(enroll_b).await.unwrap_err();
    assert!(reused(&status), "{status:?}");

    // RecordProgress: a second module under the same request id is not
    // answered OK with the progress dropped.
    let mut step = progress(&enrolled.id, &course_a.modules[0].id, 10);
    step.request_id = "progress-1".into();
    enrollments.record_progress(step.clone()).await.unwrap();
    let again = record_progress(&stack, step).await;
    assert_eq!(again.progress_percent, 50, "a replay counts once");
    let mut other_step = progress(&enrolled.id, &course_a.modules[1].id, 10);
    other_step.request_id = "progress-1".into();
    let status = enrollments.record_progress(other_step).await.unwrap_err();
    assert!(reused(&status), "{status:?}");

    // CreateSkill on the course service: the same rule.
    let mut catalog = stack.catalog().await;
    let skill = |name: &str| academy_proto::course::CreateSkillRequest {
        request_id: "skill-1".into(),
        ..skill_request(name)
    };
    catalog.create_skill(skill("Skill one")).await.unwrap();
    let status = catalog.create_skill(skill("Skill two")).await.unwrap_err();
    assert!(reused(&status), "{status:?}");
}

async fn another_callers_request_id_is_not_yours(db: TestDb) {
    let stack = Stack::start_authenticated(db).await;
    let alice = token("ops:alice", &["learners.write", "learners.read"]);
    let mallory = token("ops:mallory", &["learners.write"]);
    let mut learners = stack.learners().await;
    let mut request = register("alice.learner@example.az");
    request.request_id = "signup:alice.learner@example.az".into();
    request.learner.as_mut().unwrap().external_id = Some("NR-ALICE".into());
    let created = register_learner(&stack, authorized(request, &alice)).await;

    // Mallory replays Alice's request id with a payload of her own: a new
    // request of hers, answered with her learner, not Alice's.
    let probe = register_with_request_id(
        "mallory.probe@example.az",
        "signup:alice.learner@example.az",
    );
    let hers = learners.register_learner(authorized(probe, &mallory)).await;
    let hers = hers.unwrap().into_inner();
    assert_ne!(hers.id, created.id);
    assert!(
        hers.email.is_empty() && hers.external_id.is_none(),
        "nothing of Alice's: {hers:?}"
    );

    // Pre-claiming: Mallory uses an id first; Alice's call with it is new.
    let claim = register_with_request_id("mallory.claim@example.az", "signup:bob@example.az");
    let claimed = learners.register_learner(authorized(claim, &mallory)).await;
    claimed.unwrap();
    let bob = register_with_request_id("bob@example.az", "signup:bob@example.az");
    let bob = learners.register_learner(authorized(bob, &alice)).await;
    let bob = bob.unwrap().into_inner();
    assert_eq!(bob.email, "bob@example.az", "Alice's own new learner");
}

async fn imported_rows_cannot_be_pre_claimed_and_reuse_is_rejected_per_row(db: TestDb) {
    let stack = Stack::start_authenticated(db).await;
    let importer = token("ops:importer", &["learners.write", "learners.read"]);
    let mallory = token("ops:mallory", &["learners.write"]);
    let mut learners = stack.learners().await;
    let claim = register_with_request_id("mallory@example.az", "row-1");
    learners
        .register_learner(authorized(claim, &mallory))
        .await
        .unwrap();

    let row = register_with_request_id;
    let rows = vec![
        row("row1@example.az", "row-1"),
        row("row2@example.az", "row-2"),
        // Same request id as row 2, another learner: refused, not dropped.
        row("row3@example.az", "row-2"),
        // A replay of row 1: a duplicate.
        row("row1@example.az", "row-1"),
    ];
    let stream =
        |rows: Vec<RegisterLearnerRequest>| authorized(tokio_stream::iter(rows), &importer);
    let reply = learners.import_learners(stream(rows.clone())).await;
    let reply = reply.unwrap().into_inner();
    assert_eq!((reply.created, reply.duplicates), (2, 1), "{reply:?}");
    assert_eq!(reply.rejected.len(), 1, "{reply:?}");
    assert_eq!(reply.rejected[0].index, 2);
    assert!(reply.rejected[0].reason.contains("request_id"), "{reply:?}");

    // Across streams: the whole file again is all duplicates but the reuse.
    let reply = learners.import_learners(stream(rows)).await;
    let reply = reply.unwrap().into_inner();
    assert_eq!((reply.created, reply.duplicates), (0, 3), "{reply:?}");
    // RegisterLearner shares the namespace: a different payload under
    // an imported row's request id is refused.
    let status = learners
        .register_learner(authorized(row("row9@example.az", "row-1"), &importer))
        .await
        .unwrap_err();
    assert!(reused(&status), "{status:?}");
}

async fn keys_expire_after_the_window(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut learners = stack.learners().await;
    let first = register_with_request_id("early@example.az", "signup-early");
    learners.register_learner(first).await.unwrap();
    // 25 hours later, as far as the key is concerned.
    let conn = Database::connect(&stack.db.url).await.unwrap();
    let old = chrono::Utc::now() - chrono::TimeDelta::hours(25);
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
            "UPDATE idempotency_keys SET create_time = $1"
        } else {
            "UPDATE idempotency_keys SET create_time = ?"
        },
        [old.into()],
    ))
    .await
    .unwrap();
    conn.close().await.unwrap();
    let later = register_with_request_id("later@example.az", "signup-early");
    let created = learners.register_learner(later).await.unwrap().into_inner();
    assert_eq!(created.email, "later@example.az", "an expired key is free");
}

async fn erasure_forgets_the_learners_request_ids(db: TestDb) {
    let stack = Stack::start(db).await;
    let request = register_with_request_id("forget.me@example.az", "signup:forget.me@example.az");
    let learner = register_learner(&stack, request).await;
    let kept = registered(&stack, "stays@example.az").await;
    let course = course(&stack, "IDEM-E", 2, true).await;
    let mut enrollments = stack.enrollments().await;
    let mut e = enroll(&learner.id, &course.id);
    e.request_id = "enroll:forget.me@example.az".into();
    let enrollment = enrollments.enroll(e).await.unwrap().into_inner();
    let mut p = progress(&enrollment.id, &course.modules[0].id, 5);
    p.request_id = "progress:forget.me@example.az".into();
    enrollments.record_progress(p).await.unwrap();
    let mut other = enroll(&kept.id, &course.id);
    other.request_id = "enroll:stays".into();
    enrollments.enroll(other).await.unwrap();
    assert_eq!(idempotency_keys(&stack).await, 4);

    erase(&stack, &learner.id).await;
    assert_eq!(
        idempotency_keys(&stack).await,
        1,
        "only the other learner's key is left"
    );
    if stack.db.backend == academy_testkit::Backend::Sqlite {
        let file = std::fs::read(stack.db.dir.path().join("test.db")).unwrap();
        let text = String::from_utf8_lossy(&file);
        assert!(!text.contains("forget.me"), "request id text in the file");
    }
}
