//! Provider progress per enrollment (issue #17 item 3): percent, grade,
//! completion and total minutes without a module; completion dated by
//! business time whatever order rows arrive in; activity after completion;
//! history into an archived course.

use academy_proto::course as course_pb;
use academy_proto::events::{Event, event::Payload};
use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use chrono::{DateTime, TimeZone, Utc};
use prost_types::Timestamp;
use std::time::Duration;
use tonic::Code;

use crate::common::*;

on_both_backends!(
    provider_rows_never_lower_progress_and_complete_by_their_time,
    module_completion_is_dated_by_the_evidence_and_moves_earlier,
    bad_provider_rows_name_the_field_and_write_nothing,
    history_goes_into_an_archived_course_but_new_activity_does_not,
    bulk_provider_rows_by_external_keys_import_once,
    progress_without_the_course_service_is_unavailable_and_writes_nothing,
);

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn seconds(t: &Option<Timestamp>) -> Option<i64> {
    t.as_ref().map(|t| t.seconds)
}

/// A provider row for `enrollment_id`, nothing set yet.
fn report(enrollment_id: &str) -> RecordProgressRequest {
    RecordProgressRequest {
        enrollment_id: enrollment_id.into(),
        ..Default::default()
    }
}

async fn enrolled_at(
    stack: &Stack,
    email: &str,
    course_id: &str,
    when: DateTime<Utc>,
) -> Enrollment {
    let learner = registered(stack, email).await;
    let mut request = enroll(&learner.id, course_id);
    request.enrolled_at = ts(when);
    enroll_as(stack, request).await
}

async fn provider_rows_never_lower_progress_and_complete_by_their_time(db: TestDb) {
    let stack = Stack::start(db).await;
    let course = course(&stack, "PP-1", 3, true).await;
    let e = enrolled_at(&stack, "pp@example.org", &course.id, at(2025, 2, 1)).await;

    let mut first = report(&e.id);
    first.percent_complete = Some(40);
    first.total_minutes = Some(90);
    first.last_activity_at = ts(at(2025, 2, 10));
    let after = record_progress(&stack, first).await;
    assert_eq!(after.state, EnrollmentState::InProgress as i32);
    assert_eq!((after.percent_complete, after.minutes_spent), (40, 90));
    assert_eq!(
        seconds(&after.last_activity_time),
        Some(at(2025, 2, 10).timestamp())
    );
    assert_eq!(after.progress_percent, 0, "modules are counted apart");
    assert_eq!(after.grade, None);

    // A lower percent and total later are accepted and change nothing.
    let mut lower = report(&e.id);
    lower.percent_complete = Some(30);
    lower.total_minutes = Some(60);
    lower.last_activity_at = ts(at(2025, 2, 5));
    let after = record_progress(&stack, lower).await;
    assert_eq!((after.percent_complete, after.minutes_spent), (40, 90));
    assert_eq!(
        seconds(&after.last_activity_time),
        Some(at(2025, 2, 10).timestamp()),
        "the latest activity stays"
    );

    let mut done = report(&e.id);
    done.percent_complete = Some(100);
    done.grade = Some(88.5);
    done.completed = true;
    done.completed_at = ts(at(2025, 2, 20));
    done.total_minutes = Some(200);
    done.last_activity_at = ts(at(2025, 2, 21));
    let after = record_progress(&stack, done).await;
    assert_eq!(after.state, EnrollmentState::Completed as i32);
    assert_eq!(
        seconds(&after.complete_time),
        Some(at(2025, 2, 20).timestamp())
    );
    assert_eq!((after.percent_complete, after.minutes_spent), (100, 200));
    assert_eq!(after.grade, Some(88.5));
    let certificates = certificates_of(&stack, &e.learner_id).await;
    assert_eq!(certificates.len(), 1);
    assert_eq!(
        seconds(&certificates[0].issue_time),
        Some(at(2025, 2, 20).timestamp())
    );

    // A later completion time changes nothing; an earlier one re-dates the
    // completion and the certificate; "not completed" undoes nothing.
    // (reported completion day in February 2025, the completion day after).
    for (reported, kept) in [(25, 20), (18, 18)] {
        let mut completion = report(&e.id);
        completion.completed = true;
        completion.completed_at = ts(at(2025, 2, reported));
        completion.last_activity_at = ts(at(2025, 2, reported));
        let after = record_progress(&stack, completion).await;
        assert_eq!(
            seconds(&after.complete_time),
            Some(at(2025, 2, kept).timestamp())
        );
    }
    let mut undo = report(&e.id);
    undo.percent_complete = Some(10);
    undo.completed = false;
    undo.grade = Some(92.25);
    let after = record_progress(&stack, undo).await;
    assert_eq!(after.state, EnrollmentState::Completed as i32);
    assert_eq!(after.percent_complete, 100);
    assert_eq!(after.grade, Some(92.25), "the latest grade is kept");
    let certificates = certificates_of(&stack, &e.learner_id).await;
    assert_eq!(certificates.len(), 1, "re-dated, not issued again");
    assert_eq!(
        seconds(&certificates[0].issue_time),
        Some(at(2025, 2, 18).timestamp())
    );

    // The feed: provider rows as progress.reported with the minutes each
    // added, one completion, and the move as completion.redated.
    let events = all_events(&stack).await;
    let reported: Vec<(i32, i32)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::ProgressReported(p)) => Some((p.minutes_spent, p.percent_complete)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reported,
        [(90, 40), (0, 40), (110, 100), (0, 100), (0, 100), (0, 100)]
    );
    let kinds: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "enrollment.completed")
            .count(),
        1
    );
    let redated: Vec<&Event> = events
        .iter()
        .filter(|e| e.r#type == "completion.redated")
        .collect();
    assert_eq!(redated.len(), 1);
    assert_eq!(
        seconds(&redated[0].occurred_at),
        Some(at(2025, 2, 18).timestamp())
    );
    match &redated[0].payload {
        Some(Payload::CompletionRedated(r)) => assert_eq!(
            seconds(&r.previous_complete_time),
            Some(at(2025, 2, 20).timestamp())
        ),
        other => panic!("not a completion.redated payload: {other:?}"),
    }
}

async fn module_completion_is_dated_by_the_evidence_and_moves_earlier(db: TestDb) {
    let stack = Stack::start(db).await;
    let course = course(&stack, "OO-1", 2, true).await;
    let (m1, m2) = (course.modules[0].id.clone(), course.modules[1].id.clone());
    let e = enrolled_at(&stack, "oo@example.org", &course.id, at(2025, 1, 1)).await;
    let mut client = stack.enrollments().await;
    let row = |module: &str, day: u32| {
        let mut r = progress(&e.id, module, 10);
        r.occurred_at = ts(at(2025, 1, day));
        r
    };
    client.record_progress(row(&m2, 10)).await.unwrap();
    // m1 arrives last but happened first: the set was done on the 10th.
    // The seconds of that day in January 2025.
    let january = |day: u32| Some(at(2025, 1, day).timestamp());
    let after = record_progress(&stack, row(&m1, 3)).await;
    assert_eq!(after.state, EnrollmentState::Completed as i32);
    assert_eq!(seconds(&after.complete_time), january(10));
    // A late row shows m2 done on the 5th: completion and certificate move.
    let after = record_progress(&stack, row(&m2, 5)).await;
    assert_eq!(seconds(&after.complete_time), january(5));
    assert_eq!(after.minutes_spent, 30);
    assert_eq!(seconds(&after.last_activity_time), january(10));
    let certificates = certificates_of(&stack, &e.learner_id).await;
    assert_eq!(certificates.len(), 1);
    assert_eq!(seconds(&certificates[0].issue_time), january(5));
    // Activity after completion is taken and dates nothing.
    let after = record_progress(&stack, row(&m1, 20)).await;
    assert_eq!(seconds(&after.complete_time), january(5));
    assert_eq!(after.minutes_spent, 40);
    let events = all_events(&stack).await;
    let dated = |kind: &str| -> Vec<i64> {
        events
            .iter()
            .filter(|e| e.r#type == kind)
            .filter_map(|e| seconds(&e.occurred_at))
            .collect()
    };
    assert_eq!(dated("enrollment.completed"), [at(2025, 1, 10).timestamp()]);
    assert_eq!(dated("certificate.issued"), [at(2025, 1, 10).timestamp()]);
    assert_eq!(dated("completion.redated"), [at(2025, 1, 5).timestamp()]);
    assert_eq!(dated("progress.recorded").len(), 4);
}

async fn bad_provider_rows_name_the_field_and_write_nothing(db: TestDb) {
    let stack = Stack::start(db).await;
    let course = course(&stack, "BR-1", 2, true).await;
    let e = enrolled_at(&stack, "br@example.org", &course.id, at(2025, 3, 1)).await;
    let mut client = stack.enrollments().await;
    let before = get_enrollment(&stack, &e.id).await;
    let head_before = feed_head(&stack).await;
    let future = Utc::now() + chrono::Duration::days(2);
    let mut cases: Vec<(RecordProgressRequest, &str)> = Vec::new();
    for p in [-1, 101, i32::MAX] {
        let mut r = report(&e.id);
        r.percent_complete = Some(p);
        cases.push((r, "percent_complete"));
    }
    for g in [-0.01, 100.5, f64::NAN, f64::INFINITY] {
        let mut r = report(&e.id);
        r.grade = Some(g);
        cases.push((r, "grade"));
    }
    let mut r = report(&e.id);
    r.completed = true;
    r.completed_at = ts(at(2025, 2, 1));
    cases.push((r, "completed_at")); // before the enrollment
    let mut r = report(&e.id);
    r.completed = true;
    r.completed_at = ts(future);
    cases.push((r, "completed_at")); // in the future
    let mut r = report(&e.id);
    r.completed_at = ts(at(2025, 3, 5));
    cases.push((r, "completed_at")); // without completed
    let mut r = report(&e.id);
    r.percent_complete = Some(50);
    r.last_activity_at = ts(at(2025, 2, 1));
    cases.push((r, "last_activity_at")); // before the enrollment
    let mut r = report(&e.id);
    r.last_activity_at = ts(future);
    cases.push((r, "last_activity_at"));
    let mut r = report(&e.id);
    r.last_activity_at = ts(at(2025, 3, 5));
    r.occurred_at = ts(at(2025, 3, 5));
    cases.push((r, "last_activity_at")); // both times
    let mut r = report(&e.id);
    r.total_minutes = Some(60);
    r.minutes_spent = 5;
    cases.push((r, "total_minutes")); // both kinds of minutes
    for m in [-1, 10_000_001] {
        let mut r = report(&e.id);
        r.total_minutes = Some(m);
        cases.push((r, "total_minutes"));
    }
    let mut r = progress(&e.id, &course.modules[0].id, 5);
    r.percent_complete = Some(50);
    cases.push((r, "percent_complete")); // a module row with provider progress
    for (request, field) in cases {
        let shown = format!("{request:?}");
        let status = expect_code(
            client.record_progress(request.clone()).await,
            Code::InvalidArgument,
        );
        assert_eq!(violated_fields(&status), [field], "{shown}");
        let reply = client
            .bulk_record_progress(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((reply.recorded, reply.rejected_count), (0, 1), "{shown}");
        assert_eq!(reply.rejected[0].field, field, "{shown}");
    }
    let mut unknown = report(UNKNOWN_ID);
    unknown.percent_complete = Some(10);
    expect_code(client.record_progress(unknown).await, Code::NotFound);
    assert_eq!(
        get_enrollment(&stack, &e.id).await,
        before,
        "nothing written"
    );
    assert_eq!(feed_head(&stack).await, head_before, "no event");
}

async fn history_goes_into_an_archived_course_but_new_activity_does_not(db: TestDb) {
    let stack = Stack::start(db).await;
    let course = course(&stack, "AR-1", 1, true).await;
    let published = course.publish_time.expect("published").seconds;
    let learner = registered(&stack, "ar@example.org").await;
    let late = registered(&stack, "late@example.org").await;
    let mut client = stack.enrollments().await;
    let mut open = enroll(&late.id, &course.id);
    open.enrolled_at = Some(Timestamp {
        seconds: published,
        nanos: 0,
    });
    let before_archive = client.enroll(open).await.unwrap().into_inner();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let archived = stack
        .catalog()
        .await
        .archive_course(course_pb::ArchiveCourseRequest {
            id: course.id.clone(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let archive_time = archived.archive_time.expect("archive_time set");
    assert!(archive_time.seconds >= published + 2, "{archive_time:?}");
    let when = |s: i64| {
        Some(Timestamp {
            seconds: s,
            nanos: 0,
        })
    };

    // History from while it was published is taken...
    let mut history = enroll(&learner.id, &course.id);
    history.enrolled_at = when(published + 1);
    let e = client.enroll(history).await.unwrap().into_inner();
    let mut row = progress(&e.id, &course.modules[0].id, 15);
    row.occurred_at = when(published + 2);
    let done = record_progress(&stack, row).await;
    assert_eq!(done.state, EnrollmentState::Completed as i32);
    // History from before the publication too, as a published course
    // takes it (the same file loads before and after the archive)...
    let mut older = enroll(&registered(&stack, "old@example.org").await.id, &course.id);
    older.enrolled_at = when(published - 86_400);
    client.enroll(older).await.unwrap();
    // ...new activity is not: enrolling now or after the archive, or
    // progress now.
    for enrolled_at in [None, when(archive_time.seconds + 1)] {
        let mut now = enroll(&late.id, &course.id);
        now.learner_id = registered(&stack, &format!("n{}@example.org", enrolled_at.is_some()))
            .await
            .id;
        now.enrolled_at = enrolled_at;
        let status = expect_code(client.enroll(now).await, Code::FailedPrecondition);
        assert!(status.message().contains("archived"), "{status:?}");
    }
    let status = expect_code(
        client
            .record_progress(progress(&before_archive.id, &course.modules[0].id, 5))
            .await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("archived"), "{status:?}");
    let mut provider = report(&before_archive.id);
    provider.percent_complete = Some(50);
    expect_code(
        client.record_progress(provider).await,
        Code::FailedPrecondition,
    );
    assert_eq!(
        get_enrollment(&stack, &before_archive.id)
            .await
            .minutes_spent,
        0
    );
    // In bulk, the same answer per row.
    let mut backdated = progress(&before_archive.id, &course.modules[0].id, 5);
    backdated.occurred_at = when(published + 1);
    let reply = client
        .bulk_record_progress(tokio_stream::iter(vec![
            progress(&before_archive.id, &course.modules[0].id, 5),
            backdated,
        ]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.recorded, 1);
    assert_eq!(rejected_indexes(&reply.rejected), [0]);
}

async fn bulk_provider_rows_by_external_keys_import_once(db: TestDb) {
    let stack = Stack::start(db).await;
    course(&stack, "BK-1", 2, true).await;
    let mut learners = stack.learners().await;
    let mut req = register("bk@example.org");
    req.learner.as_mut().unwrap().external_id = Some("ext-bk".into());
    let learner = learners.register_learner(req).await.unwrap().into_inner();
    let mut client = stack.enrollments().await;
    let mut e = enroll("", "");
    e.learner_external_id = "ext-bk".into();
    e.provider_course_id = slug("BK-1");
    e.enrolled_at = ts(at(2025, 4, 1));
    client.enroll(e).await.unwrap();
    let row = RecordProgressRequest {
        learner_external_id: "ext-bk".into(),
        provider_course_id: slug("BK-1"),
        percent_complete: Some(100),
        total_minutes: Some(120),
        completed: true,
        completed_at: ts(at(2025, 4, 20)),
        last_activity_at: ts(at(2025, 4, 21)),
        grade: Some(75.0),
        request_id: "provider-row-1".into(),
        ..Default::default()
    };
    for expected in [(1, 0), (0, 1)] {
        let reply = client
            .bulk_record_progress(tokio_stream::iter(vec![row.clone()]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((reply.recorded, reply.duplicates), expected, "{reply:?}");
    }
    // Without the request id, the never-decreasing rules keep it unchanged.
    let mut again = row.clone();
    again.request_id = String::new();
    client
        .bulk_record_progress(tokio_stream::iter(vec![again]))
        .await
        .unwrap();
    let list = client
        .list_enrollments(ListEnrollmentsRequest {
            learner_id: learner.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .enrollments;
    let e = &list[0];
    assert_eq!(e.state, EnrollmentState::Completed as i32);
    assert_eq!((e.percent_complete, e.minutes_spent), (100, 120));
    assert_eq!(seconds(&e.complete_time), Some(at(2025, 4, 20).timestamp()));
    assert_eq!(certificates_of(&stack, &learner.id).await.len(), 1);
}

/// Progress asks the course service whether the course still takes
/// activity: without it, UNAVAILABLE and nothing written (in bulk too: the
/// stream fails, as BulkEnroll's does).
async fn progress_without_the_course_service_is_unavailable_and_writes_nothing(db: TestDb) {
    let mut stack = Stack::start(db).await;
    let course = course(&stack, "UN-1", 1, true).await;
    let e = enrolled_at(&stack, "un@example.org", &course.id, at(2025, 6, 1)).await;
    let before = get_enrollment(&stack, &e.id).await;
    stack.stop_course_service().await;
    let mut client = stack.enrollments().await;
    let mut row = report(&e.id);
    row.percent_complete = Some(50);
    let status = expect_code(client.record_progress(row.clone()).await, Code::Unavailable);
    assert!(status.message().contains("course service"), "{status:?}");
    let status = client
        .bulk_record_progress(tokio_stream::iter(vec![
            row,
            progress(&e.id, &course.modules[0].id, 5),
        ]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        get_enrollment(&stack, &e.id).await,
        before,
        "nothing written"
    );
}
