//! Issue #17, item 1: enrollment and progress rows name the learner by external id and
//! the course by code or provider id, as a provider's export does.

use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;

use crate::common::*;

on_both_backends!(
    bulk_enroll_rows_name_learners_and_courses_by_external_keys,
    enroll_by_external_keys_refuses_unknown_and_ambiguous_keys,
    progress_rows_name_the_enrollment_by_learner_and_course_keys,
    course_keys_need_the_course_service_and_write_nothing_without_it,
);

/// Registers learners with external ids; returns their Academy ids.
async fn members(stack: &Stack, external_ids: &[&str]) -> Vec<String> {
    let rows: Vec<_> = external_ids
        .iter()
        .map(|x| {
            let mut request = register(&format!("{}@example.az", x.to_lowercase()));
            request.learner.as_mut().unwrap().external_id = Some((*x).to_owned());
            request
        })
        .collect();
    let reply = import_learners(stack, rows).await;
    reply.results.into_iter().map(|r| r.learner_id).collect()
}

fn by_keys(external_id: &str, code: &str, provider_course_id: &str) -> EnrollRequest {
    EnrollRequest {
        learner_external_id: external_id.into(),
        course_code: code.into(),
        provider_course_id: provider_course_id.into(),
        ..Default::default()
    }
}

async fn bulk_enroll_rows_name_learners_and_courses_by_external_keys(db: TestDb) {
    let stack = Stack::start(db).await;
    let ids = members(&stack, &["M-1", "M-2", "M-3"]).await;
    let first = course(&stack, "EXT-1", 2, true).await;
    let second = course(&stack, "EXT-2", 2, true).await;
    let rows = vec![
        by_keys("M-1", "EXT-1", ""),        // 0
        by_keys("M-2", "", &slug("EXT-2")), // 1
        EnrollRequest {
            learner_id: ids[2].clone(),
            course_code: "EXT-2".into(),
            ..Default::default()
        }, // 2: id and code mixed
        by_keys("M-404", "EXT-1", ""),      // 3: unknown learner
        by_keys("M-1", "NOPE-1", ""),       // 4: unknown code
        by_keys("M-1", "", "no-such-slug"), // 5: unknown provider id
        by_keys("M-1", "EXT-1", &slug("EXT-1")), // 6: two course keys
        EnrollRequest {
            learner_id: ids[0].clone(),
            ..by_keys("M-1", "EXT-2", "")
        }, // 7: two learner keys
        by_keys("M-3", "EXT 1", ""),        // 8: malformed code
        by_keys("M-1", "EXT-1", ""),        // 9: same as row 0
    ];
    let reply = bulk_enroll(&stack, rows.clone()).await;
    assert_eq!((reply.created, reply.duplicates), (3, 1), "{reply:?}");
    let rejected = rejected_fields(&reply.rejected);
    assert_eq!(
        rejected,
        [
            (3, ""),
            (4, ""),
            (5, ""),
            (6, "course_id"),
            (7, "learner_external_id"),
            (8, "course_code")
        ]
    );
    assert!(reply.rejected[0].reason.contains("not found"), "{reply:?}");
    for (learner, course) in [
        (&ids[0], &first.id),
        (&ids[1], &second.id),
        (&ids[2], &second.id),
    ] {
        let listed = enrollments_of(&stack, learner).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(&listed[0].course_id, course);
    }
    // The same file again creates nothing.
    let again = bulk_enroll(&stack, rows).await;
    assert_eq!(
        (again.created, again.duplicates, again.rejected_count),
        (0, 4, 6)
    );
}

async fn enroll_by_external_keys_refuses_unknown_and_ambiguous_keys(db: TestDb) {
    let stack = Stack::start(db).await;
    let ids = members(&stack, &["S-1"]).await;
    let published = course(&stack, "ONE-1", 1, true).await;
    let draft = course(&stack, "DRAFT-1", 1, false).await;
    let mut client = stack.enrollments().await;
    let enrolled = enroll_as(&stack, by_keys("S-1", "", &slug("ONE-1"))).await;
    assert_eq!(
        (enrolled.learner_id.as_str(), enrolled.course_id.as_str()),
        (ids[0].as_str(), published.id.as_str())
    );

    for (request, code) in [
        (by_keys("S-2", "ONE-1", ""), Code::NotFound), // unknown learner
        (by_keys("S-1", "TWO-2", ""), Code::NotFound), // unknown course
        (by_keys("S-1", &draft.code, ""), Code::FailedPrecondition),
    ] {
        expect_code(client.enroll(request).await, code);
    }
    let both = EnrollRequest {
        course_id: published.id.clone(),
        ..by_keys("S-1", "ONE-1", "")
    };
    expect_invalid(client.enroll(both).await, &["course_id"]);
    let too_long = by_keys(&"x".repeat(201), "ONE-1", "");
    expect_invalid(client.enroll(too_long).await, &["learner_external_id"]);
    // Nothing but the first enrollment was written.
    assert_eq!(enrollments_of(&stack, "").await.len(), 1);
}

async fn progress_rows_name_the_enrollment_by_learner_and_course_keys(db: TestDb) {
    let stack = Stack::start(db).await;
    let ids = members(&stack, &["P-1", "P-2"]).await;
    let course = course(&stack, "PRG-1", 3, true).await;
    let modules: Vec<String> = course.modules.iter().map(|m| m.id.clone()).collect();
    let mut client = stack.enrollments().await;
    let enrollment = enroll_as(&stack, by_keys("P-1", "PRG-1", "")).await;
    let row = |module: &str, learner_id: &str, external: &str, code: &str, slug: &str| {
        RecordProgressRequest {
            module_id: module.to_owned(),
            minutes_spent: 10,
            learner_id: learner_id.to_owned(),
            learner_external_id: external.to_owned(),
            course_code: code.to_owned(),
            provider_course_id: slug.to_owned(),
            ..Default::default()
        }
    };
    // One call: by external id and code.
    let after = record_progress(&stack, row(&modules[0], "", "P-1", "PRG-1", "")).await;
    assert_eq!(after.id, enrollment.id);
    assert_eq!(after.completed_module_ids, [modules[0].clone()]);

    let rows = vec![
        row(&modules[1], "", "P-1", "", &slug("PRG-1")), // 0: recorded
        row(&modules[2], &ids[0], "", "PRG-1", ""),      // 1: recorded, by id and code
        row(&modules[0], "", "P-2", "PRG-1", ""),        // 2: P-2 is not enrolled
        row(&modules[0], "", "P-404", "PRG-1", ""),      // 3: unknown learner
        RecordProgressRequest {
            enrollment_id: enrollment.id.clone(),
            ..row(&modules[0], "", "P-1", "PRG-1", "")
        }, // 4: enrollment id and keys
        row(&modules[0], "", "P-1", "", ""),             // 5: no course named
    ];
    let reply = client
        .bulk_record_progress(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.recorded, 2, "{reply:?}");
    let rejected = rejected_fields(&reply.rejected);
    assert_eq!(
        rejected,
        [(2, ""), (3, ""), (4, "enrollment_id"), (5, "course_id")]
    );
    let done = get_enrollment(&stack, &enrollment.id).await;
    assert_eq!(done.state, EnrollmentState::Completed as i32);
    assert_eq!(done.minutes_spent, 30);
    let missing = row(&modules[0], "", "P-2", "PRG-1", "");
    expect_code(client.record_progress(missing).await, Code::NotFound);
}

async fn course_keys_need_the_course_service_and_write_nothing_without_it(db: TestDb) {
    let mut stack = Stack::start(db).await;
    members(&stack, &["U-1"]).await;
    let published = course(&stack, "UP-1", 1, true).await;
    stack.stop_course_service().await;
    let mut client = stack.enrollments().await;
    let status = expect_code(
        client.enroll(by_keys("U-1", "UP-1", "")).await,
        Code::Unavailable,
    );
    assert!(status.message().contains("course service"), "{status:?}");
    // A bulk stream ends UNAVAILABLE too; no row of its batch is written.
    let status = expect_code(
        client
            .bulk_enroll(tokio_stream::iter(vec![by_keys("U-1", "", &slug("UP-1"))]))
            .await,
        Code::Unavailable,
    );
    assert!(status.message().contains("course service"), "{status:?}");
    let status = expect_code(
        client
            .record_progress(RecordProgressRequest {
                learner_external_id: "U-1".into(),
                course_code: "UP-1".into(),
                module_id: published.modules[0].id.clone(),
                ..Default::default()
            })
            .await,
        Code::Unavailable,
    );
    assert!(status.message().contains("course service"), "{status:?}");
    let listed = enrollments_of(&stack, "").await;
    assert!(listed.is_empty(), "{listed:?}");
}
