//! Learners, enrollments, program membership and activity.

use academy_domain::EducationLevel;
use academy_proto::events::event::Payload;
use academy_proto::events::{
    EnrollmentCreated, Event, LearnerMerged, LearnerRegistered, LearnerUpdated, ProgressRecorded,
};
use academy_runtime::feed::ApplyError;
use chrono::NaiveDate;
use sea_orm::{DatabaseTransaction, Value};
use std::collections::BTreeMap;

use super::exec;

const INSERT_LEARNERS: &str = "INSERT INTO r_learners \
    (learner_id, register_day, region, gender, birth_year, employment_status, organization, \
    education_level) VALUES";
/// Rows per multi-row statement: at most eight bind parameters a row, far
/// below both backends' limits.
const ROWS_PER_INSERT: usize = 500;

pub(super) async fn registered(
    txn: &DatabaseTransaction,
    e: &LearnerRegistered,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    insert_learners(txn, vec![learner_row(e, day)]).await
}

/// Events of one kind written together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Run {
    Registrations,
    Enrollments,
    Progress,
}

/// A run of events of one kind in multi-row statements. Events before one
/// that is not understood are applied; it and the rest are not.
pub(super) async fn apply_run(
    txn: &DatabaseTransaction,
    kind: Run,
    events: &[&Event],
) -> Result<(), ApplyError> {
    let mut understood = Vec::with_capacity(events.len());
    let mut refused = None;
    for event in events {
        match (&event.payload, super::event_day(event)) {
            (Some(payload), Some(day)) => understood.push((payload, day)),
            _ => {
                refused = Some(ApplyError::NotUnderstood {
                    sequence: event.sequence,
                    kind: event.r#type.clone(),
                });
                break;
            }
        }
    }
    match kind {
        Run::Registrations => {
            let rows: Vec<[Value; 8]> = understood
                .iter()
                .filter_map(|(p, day)| match p {
                    Payload::LearnerRegistered(e) => Some(learner_row(e, *day)),
                    _ => None,
                })
                .collect();
            insert_learners(txn, rows).await?;
        }
        Run::Enrollments => {
            let created: Vec<(&EnrollmentCreated, NaiveDate)> = understood
                .iter()
                .filter_map(|(p, day)| match p {
                    Payload::EnrollmentCreated(e) => Some((e, *day)),
                    _ => None,
                })
                .collect();
            enrolled_many(txn, &created).await?;
        }
        Run::Progress => {
            let recorded: Vec<Activity<'_>> = understood
                .iter()
                .filter_map(|(p, day)| Activity::of(p, *day))
                .collect();
            progress_many(txn, &recorded).await?;
        }
    }
    refused.map_or(Ok(()), Err)
}

/// Runs one multi-row INSERT: `head` then `rows` tuples of `width` values.
async fn insert_rows(
    txn: &DatabaseTransaction,
    head: &str,
    width: usize,
    tail: &str,
    rows: Vec<Vec<Value>>,
) -> Result<(), ApplyError> {
    let tuple = format!("({})", vec!["?"; width].join(", "));
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values = vec![tuple.as_str(); chunk.len()].join(", ");
        let sql = format!("{head} {values} {tail}");
        exec(txn, &sql, chunk.iter().flatten().cloned().collect()).await?;
    }
    Ok(())
}

/// Enrollments in multi-row statements; program membership keeps each
/// learner's earliest day, also within the run (one row per key, as one
/// statement may not update a row twice).
async fn enrolled_many(
    txn: &DatabaseTransaction,
    created: &[(&EnrollmentCreated, NaiveDate)],
) -> Result<(), ApplyError> {
    let rows = created
        .iter()
        .map(|(e, day)| {
            vec![
                Value::from(e.enrollment_id.as_str()),
                Value::from(e.learner_id.as_str()),
                Value::from(e.course_id.as_str()),
                Value::from(e.program_id.as_str()),
                Value::from(*day),
            ]
        })
        .collect();
    insert_rows(
        txn,
        "INSERT INTO r_enrollments (enrollment_id, learner_id, course_id, program_id, enroll_day) VALUES",
        5,
        "ON CONFLICT (enrollment_id) DO NOTHING",
        rows,
    )
    .await?;
    let mut members: BTreeMap<(&str, &str), NaiveDate> = BTreeMap::new();
    for (e, day) in created.iter().filter(|(e, _)| !e.program_id.is_empty()) {
        let first = members
            .entry((e.program_id.as_str(), e.learner_id.as_str()))
            .or_insert(*day);
        *first = (*first).min(*day);
    }
    let rows = members
        .into_iter()
        .map(|((program, learner), day)| {
            vec![Value::from(program), Value::from(learner), Value::from(day)]
        })
        .collect();
    insert_rows(
        txn,
        "INSERT INTO r_program_members (program_id, learner_id, first_day) VALUES",
        3,
        MEMBER_KEEPS_EARLIEST,
        rows,
    )
    .await
}

/// A day of a learner's activity in a course, with minutes: what module
/// progress and a provider's progress row both record.
#[derive(Debug, Clone, Copy)]
pub(super) struct Activity<'a> {
    pub learner_id: &'a str,
    pub program_id: &'a str,
    pub course_id: &'a str,
    pub day: NaiveDate,
    pub minutes: i64,
}

impl<'a> Activity<'a> {
    fn of(payload: &'a Payload, day: NaiveDate) -> Option<Self> {
        match payload {
            Payload::ProgressRecorded(e) => Some(Self {
                learner_id: &e.learner_id,
                program_id: &e.program_id,
                course_id: &e.course_id,
                day,
                minutes: i64::from(e.minutes_spent),
            }),
            Payload::ProgressReported(e) => Some(Self {
                learner_id: &e.learner_id,
                program_id: &e.program_id,
                course_id: &e.course_id,
                day,
                minutes: i64::from(e.minutes_spent),
            }),
            _ => None,
        }
    }
}

/// Progress in multi-row statements, minutes summed per key within the run.
async fn progress_many(
    txn: &DatabaseTransaction,
    recorded: &[Activity<'_>],
) -> Result<(), ApplyError> {
    let mut minutes: BTreeMap<(&str, &str, &str, NaiveDate), i64> = BTreeMap::new();
    for a in recorded {
        *minutes
            .entry((a.learner_id, a.program_id, a.course_id, a.day))
            .or_default() += a.minutes;
    }
    let rows = minutes
        .into_iter()
        .map(|((learner, program, course, day), m)| {
            vec![
                Value::from(learner),
                Value::from(program),
                Value::from(course),
                Value::from(day),
                Value::from(m),
            ]
        })
        .collect();
    insert_rows(
        txn,
        "INSERT INTO r_activity (learner_id, program_id, course_id, day, minutes) VALUES",
        5,
        ACTIVITY_ADDS_MINUTES,
        rows,
    )
    .await
}

/// Backfilled history may arrive out of day order: keep the earliest.
const MEMBER_KEEPS_EARLIEST: &str = "ON CONFLICT (program_id, learner_id) DO UPDATE SET first_day = \
     CASE WHEN excluded.first_day < r_program_members.first_day \
     THEN excluded.first_day ELSE r_program_members.first_day END";

const ACTIVITY_ADDS_MINUTES: &str = "ON CONFLICT (learner_id, program_id, course_id, day) \
     DO UPDATE SET minutes = r_activity.minutes + excluded.minutes";

fn learner_row(e: &LearnerRegistered, day: NaiveDate) -> [Value; 8] {
    [
        Value::from(e.learner_id.as_str()),
        Value::from(day),
        Value::from(e.region.as_str()),
        Value::from(e.gender.as_str()),
        Value::from(e.birth_year),
        Value::from(e.employment_status.as_str()),
        Value::from(e.organization.as_str()),
        Value::from(EducationLevel::reported(&e.education_level)),
    ]
}

/// A learner registered twice (a replayed event) keeps its first row, also
/// within one statement.
async fn insert_learners(
    txn: &DatabaseTransaction,
    rows: Vec<[Value; 8]>,
) -> Result<(), ApplyError> {
    let rows = rows.into_iter().map(Vec::from).collect();
    insert_rows(
        txn,
        INSERT_LEARNERS,
        8,
        "ON CONFLICT (learner_id) DO NOTHING",
        rows,
    )
    .await
}

/// Breakdowns use each learner's current attributes.
pub(super) async fn updated(
    txn: &DatabaseTransaction,
    e: &LearnerUpdated,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "UPDATE r_learners SET region = ?, gender = ?, birth_year = ?, employment_status = ?, organization = ?, \
         education_level = ? WHERE learner_id = ?",
        vec![
            Value::from(e.region.as_str()),
            Value::from(e.gender.as_str()),
            Value::from(e.birth_year),
            Value::from(e.employment_status.as_str()),
            Value::from(e.organization.as_str()),
            Value::from(EducationLevel::reported(&e.education_level)),
            Value::from(e.learner_id.as_str()),
        ],
    )
    .await?;
    Ok(())
}

/// An erased learner still counts; the organisation is personal data.
pub(super) async fn erased(txn: &DatabaseTransaction, learner_id: &str) -> Result<(), ApplyError> {
    exec(
        txn,
        "UPDATE r_learners SET organization = '' WHERE learner_id = ?",
        vec![Value::from(learner_id)],
    )
    .await?;
    Ok(())
}

pub(super) async fn enrolled(
    txn: &DatabaseTransaction,
    e: &EnrollmentCreated,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "INSERT INTO r_enrollments (enrollment_id, learner_id, course_id, program_id, enroll_day) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (enrollment_id) DO NOTHING",
        vec![
            Value::from(e.enrollment_id.as_str()),
            Value::from(e.learner_id.as_str()),
            Value::from(e.course_id.as_str()),
            Value::from(e.program_id.as_str()),
            Value::from(day),
        ],
    )
    .await?;
    if !e.program_id.is_empty() {
        exec(
            txn,
            &format!(
                "INSERT INTO r_program_members (program_id, learner_id, first_day) VALUES (?, ?, ?) {MEMBER_KEEPS_EARLIEST}"
            ),
            vec![
                Value::from(e.program_id.as_str()),
                Value::from(e.learner_id.as_str()),
                Value::from(day),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn progress(
    txn: &DatabaseTransaction,
    e: &ProgressRecorded,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    activity(
        txn,
        Activity {
            learner_id: &e.learner_id,
            program_id: &e.program_id,
            course_id: &e.course_id,
            day,
            minutes: i64::from(e.minutes_spent),
        },
    )
    .await
}

pub(super) async fn activity(txn: &DatabaseTransaction, a: Activity<'_>) -> Result<(), ApplyError> {
    exec(
        txn,
        &format!(
            "INSERT INTO r_activity (learner_id, program_id, course_id, day, minutes) VALUES (?, ?, ?, ?, ?) {ACTIVITY_ADDS_MINUTES}"
        ),
        vec![
            Value::from(a.learner_id),
            Value::from(a.program_id),
            Value::from(a.course_id),
            Value::from(a.day),
            Value::from(a.minutes),
        ],
    )
    .await?;
    Ok(())
}

/// The columns of an enrollment's milestone days.
pub(super) const COMPLETE_DAY: &str = "complete_day";
pub(super) const CERTIFICATE_DAY: &str = "certificate_day";

/// Sets one of an enrollment's milestone days (`column`: one of the above).
pub(super) async fn set_enrollment_day(
    txn: &DatabaseTransaction,
    column: &str,
    enrollment_id: &str,
    day: NaiveDate,
) -> Result<(), ApplyError> {
    exec(
        txn,
        &format!("UPDATE r_enrollments SET {column} = ? WHERE enrollment_id = ?"),
        vec![Value::from(day), Value::from(enrollment_id)],
    )
    .await?;
    Ok(())
}

/// A merge of duplicate learners, by the rule in `engine/merge.rs`: the
/// duplicate's rows go to the survivor (activity minutes summed per day),
/// the folded enrollments and the duplicate's registration go, the survivor
/// keeps the earlier registration day, and program membership is derived
/// again from the survivor's remaining enrollments.
pub(super) async fn merged(txn: &DatabaseTransaction, e: &LearnerMerged) -> Result<(), ApplyError> {
    let (survivor, duplicate) = (
        e.survivor_learner_id.as_str(),
        e.duplicate_learner_id.as_str(),
    );
    if survivor == duplicate {
        return Ok(());
    }
    let (s, d) = (Value::from(survivor), Value::from(duplicate));
    // The statements in the order they run.
    let mut statements: Vec<(String, Vec<Value>)> = vec![
        (
            "UPDATE r_learners SET register_day = \
             (SELECT d.register_day FROM r_learners d WHERE d.learner_id = ?) \
             WHERE learner_id = ? AND register_day > \
             (SELECT d.register_day FROM r_learners d WHERE d.learner_id = ?)"
                .into(),
            vec![d.clone(), s.clone(), d.clone()],
        ),
        (
            "DELETE FROM r_learners WHERE learner_id = ?".into(),
            vec![d.clone()],
        ),
    ];
    statements.extend(e.folded_enrollment_ids.iter().map(|folded| {
        (
            "DELETE FROM r_enrollments WHERE enrollment_id = ?".into(),
            vec![folded.as_str().into()],
        )
    }));
    statements.extend([
        (
            "UPDATE r_enrollments SET learner_id = ? WHERE learner_id = ?".into(),
            vec![s.clone(), d.clone()],
        ),
        // `WHERE` before `ON CONFLICT` keeps SQLite's parser off the
        // ambiguity of INSERT ... SELECT ... ON.
        (
            format!(
                "INSERT INTO r_activity (learner_id, program_id, course_id, day, minutes) \
                 SELECT ?, program_id, course_id, day, minutes FROM r_activity WHERE learner_id = ? \
                 {ACTIVITY_ADDS_MINUTES}"
            ),
            vec![s.clone(), d.clone()],
        ),
        (
            "DELETE FROM r_activity WHERE learner_id = ?".into(),
            vec![d.clone()],
        ),
        (
            "DELETE FROM r_program_members WHERE learner_id IN (?, ?)".into(),
            vec![s.clone(), d],
        ),
        (
            "INSERT INTO r_program_members (program_id, learner_id, first_day) \
             SELECT program_id, learner_id, MIN(enroll_day) FROM r_enrollments \
             WHERE learner_id = ? AND program_id <> '' GROUP BY program_id, learner_id"
                .into(),
            vec![s],
        ),
    ]);
    for (sql, values) in statements {
        exec(txn, &sql, values).await?;
    }
    Ok(())
}
