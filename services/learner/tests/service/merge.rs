//! FindDuplicateLearners and MergeLearners (issue #19), on SQLite and
//! PostgreSQL.

use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};

use tonic::Code;

use crate::common::*;

on_both_backends!(
    duplicates_are_found_by_mailbox_external_id_and_name,
    merge_moves_folds_and_leaves_a_tombstone,
    merge_refuses_bad_pairs_and_writes_nothing,
    erasing_a_survivor_erases_what_it_absorbed,
    concurrent_merges_write_one_merge
);

async fn register_as(
    stack: &Stack,
    email: &str,
    name: &str,
    year: i32,
    external: Option<&str>,
) -> Learner {
    let mut request = register(email);
    {
        let l = request.learner.as_mut().unwrap();
        l.full_name = name.into();
        l.birth_year = year;
        l.external_id = external.map(str::to_owned);
    }
    register_learner(stack, request).await
}

async fn duplicates_are_found_by_mailbox_external_id_and_name(db: TestDb) {
    let stack = Stack::start(db).await;
    let a = register_as(&stack, "ali.hasanov@gmail.com", "Ali Hasanov", 1990, None).await;
    let b = register_as(
        &stack,
        "AliHasanov+work@googlemail.com",
        "A. H.",
        1985,
        None,
    )
    .await;
    let c = register_as(&stack, "c@example.az", "Leyla One", 1991, Some("NR 77 A")).await;
    let d = register_as(&stack, "d@example.az", "Leyla Two", 1992, Some("nr77a")).await;
    let e = register_as(&stack, "e@example.az", "Rəşad  Əliyev", 2000, None).await;
    let f = register_as(&stack, "f@example.az", "RASHAD aliyev", 2000, None).await;
    // Same name, other birth year: not a candidate. Dots matter outside gmail.
    register_as(&stack, "g@example.az", "Rashad Aliyev", 2001, None).await;
    register_as(&stack, "ali.hasanov@example.az", "Other", 1970, None).await;
    register_as(&stack, "alihasanov@example.az", "Another", 1971, None).await;

    let mut client = stack.learners().await;
    let all = client
        .find_duplicate_learners(FindDuplicateLearnersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.next_page_token, "");
    let mut expected = vec![
        (sorted(&[&a.id, &b.id]), DuplicateReason::Email, 60),
        (sorted(&[&c.id, &d.id]), DuplicateReason::ExternalId, 60),
        (
            sorted(&[&e.id, &f.id]),
            DuplicateReason::NameAndBirthYear,
            40,
        ),
    ];
    expected.sort();
    let found: Vec<_> = all
        .groups
        .iter()
        .map(|g| {
            assert_eq!(g.reasons.len(), 1);
            (g.learner_ids.clone(), g.reasons().next().unwrap(), g.score)
        })
        .collect();
    assert_eq!(found, expected);

    // Paged one group at a time, the same groups in the same order.
    let find = |page_size: i32, page_token: String| FindDuplicateLearnersRequest {
        page_size,
        page_token,
    };
    let paged = pages(|page_token| {
        let mut client = client.clone();
        async move {
            let page = client.find_duplicate_learners(find(1, page_token)).await;
            let page = page.unwrap().into_inner();
            (page.groups, page.next_page_token)
        }
    })
    .await;
    assert_eq!(paged.concat(), all.groups);
    let negative = client
        .find_duplicate_learners(find(-1, String::new()))
        .await;
    expect_code(negative, Code::InvalidArgument);
    let garbage = client
        .find_duplicate_learners(find(1, "garbage".into()))
        .await;
    expect_code(garbage, Code::InvalidArgument);

    // Once merged, the pair is no longer a candidate.
    merge(&stack, &a.id, &b.id).await;
    let after = client
        .find_duplicate_learners(FindDuplicateLearnersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.groups.len(), 2);
    assert!(after.groups.iter().all(|g| !g.learner_ids.contains(&a.id)));
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn merge_moves_folds_and_leaves_a_tombstone(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut backfilled = register("early@example.az");
    backfilled.registered_at = Some(prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 0,
    });
    let duplicate = register_learner(&stack, backfilled).await;
    let survivor = registered(&stack, "late@example.az").await;
    let shared = course(&stack, "MG-1", 3, true).await;
    let other = course(&stack, "MG-2", 1, true).await;
    let mut enrollments = stack.enrollments().await;
    let s_shared = enrolled(&stack, &survivor.id, &shared.id).await;
    let d_shared = enrolled(&stack, &duplicate.id, &shared.id).await;
    let d_other = enrolled(&stack, &duplicate.id, &other.id).await;
    let m = |i: usize| shared.modules[i].id.clone();
    for (enrollment, module, minutes) in [
        (&s_shared, m(0), 7),
        (&d_shared, m(1), 5),
        (&d_shared, m(0), 3),
        (&d_other, other.modules[0].id.clone(), 4),
    ] {
        record_progress(&stack, progress(&enrollment.id, &module, minutes)).await;
    }

    let mut client = stack.learners().await;
    let request = MergeLearnersRequest {
        dry_run: true,
        ..merge_request(&survivor.id, &duplicate.id, "merge-1")
    };
    let events_before = feed_types(&stack).await;
    let dry = client
        .merge_learners(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(dry.dry_run);
    assert_eq!(dry.moved_enrollment_ids, std::slice::from_ref(&d_other.id));
    // The duplicate's enrollment is further along (two modules): it stays.
    assert_eq!(
        dry.folded_enrollment_ids,
        std::slice::from_ref(&s_shared.id)
    );
    assert_eq!((dry.moved_certificates, dry.moved_earned_skills), (1, 1));
    assert_eq!(
        feed_types(&stack).await,
        events_before,
        "a dry run writes nothing"
    );
    let still = get_learner(&stack, &duplicate.id).await;
    assert_eq!(still.state, LearnerState::Active as i32);

    let for_real = MergeLearnersRequest {
        dry_run: false,
        ..request.clone()
    };
    let done = client.merge_learners(for_real.clone()).await.unwrap();
    let done = done.into_inner();
    assert!(!done.dry_run);
    assert_eq!(
        (
            done.moved_enrollment_ids.clone(),
            done.folded_enrollment_ids.clone()
        ),
        (
            dry.moved_enrollment_ids.clone(),
            dry.folded_enrollment_ids.clone()
        )
    );
    let merged_survivor = done.survivor.clone().unwrap();
    assert_eq!(merged_survivor.id, survivor.id);
    assert_eq!(
        merged_survivor.register_time, duplicate.register_time,
        "the survivor keeps the earlier registration"
    );

    // The same request again answers the same and writes nothing.
    let types = feed_types(&stack).await;
    assert_eq!(types.iter().filter(|t| *t == "learner.merged").count(), 1);
    let again = client.merge_learners(for_real).await.unwrap().into_inner();
    assert_eq!(again.moved_enrollment_ids, done.moved_enrollment_ids);
    assert_eq!(again.folded_enrollment_ids, done.folded_enrollment_ids);
    assert_eq!(feed_types(&stack).await, types);
    // The same request id with other ids is refused.
    let third = registered(&stack, "third@example.az").await;
    let reused = client
        .merge_learners(merge_request(&survivor.id, &third.id, "merge-1"))
        .await;
    expect_code(reused, Code::FailedPrecondition);

    // Reads of the duplicate answer the survivor, and say so.
    let read = get_learner(&stack, &duplicate.id).await;
    assert_eq!(read.id, survivor.id);
    assert_eq!(read.merged_from_id, duplicate.id);
    assert_eq!(read.state, LearnerState::Active as i32);
    let listed = all_learners(&stack).await;
    let tomb = listed.iter().find(|l| l.id == duplicate.id).unwrap();
    assert_eq!(tomb.state, LearnerState::Merged as i32);

    // Everything is the survivor's now; the shared course is one enrollment.
    let held = enrollments_of(&stack, &survivor.id).await;
    assert_eq!(held.len(), 2);
    let kept = held.iter().find(|e| e.course_id == shared.id).unwrap();
    assert_eq!(kept.id, d_shared.id);
    assert_eq!(kept.minutes_spent, 15);
    assert_eq!(kept.completed_module_ids, [m(1), m(0)]);
    assert_eq!(kept.state, EnrollmentState::InProgress as i32);
    let completed = held.iter().find(|e| e.course_id == other.id).unwrap();
    assert_eq!(completed.state, EnrollmentState::Completed as i32);
    assert_eq!(certificates_of(&stack, &survivor.id).await.len(), 1);
    let folded = GetEnrollmentRequest {
        id: s_shared.id.clone(),
    };
    expect_code(enrollments.get_enrollment(folded).await, Code::NotFound);
    // Progress on the kept enrollment goes on.
    let finished = record_progress(&stack, progress(&kept.id, &m(2), 1)).await;
    assert_eq!(finished.state, EnrollmentState::Completed as i32);

    // Writes to the tombstone are refused.
    expect_code(
        enrollments.enroll(enroll(&duplicate.id, &other.id)).await,
        Code::FailedPrecondition,
    );
    let update = UpdateLearnerRequest {
        learner: Some(Learner {
            id: duplicate.id.clone(),
            region: "Karabakh".into(),
            ..Default::default()
        }),
        update_mask: mask(&["region"]),
        etag: String::new(),
    };
    expect_code(
        client.update_learner(update).await,
        Code::FailedPrecondition,
    );
    let erase = EraseLearnerRequest {
        id: duplicate.id.clone(),
    };
    expect_code(client.erase_learner(erase).await, Code::FailedPrecondition);
}

async fn merge_refuses_bad_pairs_and_writes_nothing(db: TestDb) {
    let stack = Stack::start(db).await;
    let a = registered(&stack, "a@example.az").await;
    let b = registered(&stack, "b@example.az").await;
    let c = registered(&stack, "c@example.az").await;
    let gone = registered(&stack, "gone@example.az").await;
    let mut client = stack.learners().await;
    erase(&stack, &gone.id).await;
    merge(&stack, &a.id, &b.id).await;
    let types = feed_types(&stack).await;
    let cases: Vec<(&str, &str, Code, &str)> = vec![
        (&a.id, &a.id, Code::InvalidArgument, "duplicate_id"),
        ("", &c.id, Code::InvalidArgument, "survivor_id"),
        (&a.id, "not-an-id", Code::InvalidArgument, "duplicate_id"),
        (&a.id, UNKNOWN_ID, Code::NotFound, ""),
        (UNKNOWN_ID, &c.id, Code::NotFound, ""),
        (&a.id, &gone.id, Code::FailedPrecondition, "LEARNER_ERASED"),
        (&gone.id, &c.id, Code::FailedPrecondition, "LEARNER_ERASED"),
        (&c.id, &b.id, Code::FailedPrecondition, "LEARNER_MERGED"),
        (&b.id, &c.id, Code::FailedPrecondition, "LEARNER_MERGED"),
    ];
    for (survivor_id, duplicate_id, code, detail) in cases {
        for dry_run in [false, true] {
            let status = client
                .merge_learners(MergeLearnersRequest {
                    dry_run,
                    ..merge_request(survivor_id, duplicate_id, "")
                })
                .await
                .unwrap_err();
            assert_eq!(
                status.code(),
                code,
                "{survivor_id} <- {duplicate_id}: {status:?}"
            );
            if code == Code::InvalidArgument {
                assert_eq!(violated_fields(&status), [detail]);
            } else if !detail.is_empty() {
                assert!(
                    format!("{status:?}").contains(detail),
                    "{detail} missing from {status:?}"
                );
            }
        }
    }
    assert_eq!(
        feed_types(&stack).await,
        types,
        "refused merges wrote events"
    );
    let c_now = get_learner(&stack, &c.id).await;
    assert_eq!(c_now, c, "a refused merge changed the learner");
}

async fn erasing_a_survivor_erases_what_it_absorbed(db: TestDb) {
    let stack = Stack::start(db).await;
    let a = registered(&stack, "keep.me@example.az").await;
    let b = registered(&stack, "absorbed.secret@example.az").await;
    let c = registered(&stack, "absorbed.twice@example.az").await;
    for (survivor, duplicate) in [(&b, &c), (&a, &b)] {
        merge(&stack, &survivor.id, &duplicate.id).await;
    }
    // A chain of merges: C into B into A; reads of C answer A.
    let read = get_learner(&stack, &c.id).await;
    assert_eq!(
        (read.id.as_str(), read.merged_from_id.as_str()),
        (a.id.as_str(), c.id.as_str())
    );
    erase(&stack, &a.id).await;
    let sql = "SELECT COALESCE(email, '') AS email, full_name, state FROM learners";
    let rows = sql_rows(&stack, sql).await;
    assert_eq!(rows.len(), 3);
    for row in rows {
        let email: String = row.try_get("", "email").unwrap();
        let name: String = row.try_get("", "full_name").unwrap();
        let state: String = row.try_get("", "state").unwrap();
        assert_eq!(
            (email.as_str(), name.as_str(), state.as_str()),
            ("", "", "ERASED")
        );
    }
}

/// The event types in the learner feed, in order.
async fn feed_types(stack: &Stack) -> Vec<String> {
    let rows = sql_rows(
        stack,
        "SELECT event_type FROM feed_events ORDER BY sequence",
    )
    .await;
    rows.into_iter()
        .map(|row| row.try_get::<String>("", "event_type").unwrap())
        .collect()
}

/// Racing calls: the same request twice gets one merge and the same
/// answer; two survivors claiming one duplicate get one merge and one
/// FAILED_PRECONDITION.
async fn concurrent_merges_write_one_merge(db: TestDb) {
    let stack = Stack::start(db).await;
    let a = registered(&stack, "race.a@example.az").await;
    let b = registered(&stack, "race.b@example.az").await;
    let c = registered(&stack, "race.c@example.az").await;
    let request = merge_request(&a.id, &b.id, "race-1");
    let (mut one, mut two) = (stack.learners().await, stack.learners().await);
    let (first, second) = tokio::join!(
        one.merge_learners(request.clone()),
        two.merge_learners(request.clone())
    );
    let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
    assert_eq!(first, second);

    let d = registered(&stack, "race.d@example.az").await;
    let claim = |survivor: &Learner| merge_request(&survivor.id, &d.id, "");
    let (x, y) = tokio::join!(one.merge_learners(claim(&a)), two.merge_learners(claim(&c)));
    let codes: Vec<Option<Code>> = [&x, &y]
        .iter()
        .map(|r| r.as_ref().err().map(tonic::Status::code))
        .collect();
    assert!(
        codes.contains(&None) && codes.contains(&Some(Code::FailedPrecondition)),
        "one wins, one is refused: {x:?} {y:?}"
    );
    let merges = feed_types(&stack)
        .await
        .into_iter()
        .filter(|t| t == "learner.merged")
        .count();
    assert_eq!(merges, 2);
}
