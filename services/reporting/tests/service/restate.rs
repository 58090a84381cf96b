//! CompareWithPublished: a snapshot stays byte-identical (same bytes, same
//! digest) after a backfill, a learner update and an erasure change the
//! live figures, and the comparison lists exactly the figures the
//! independent model says changed, with both values.

use academy_domain::Period;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{self as learner_pb, EmploymentStatus, Gender};
use academy_proto::reporting::{self as pb, Dimension, Metric};
use academy_testkit::{TestDb, on_both_backends};
use prost::Message;
use std::collections::BTreeMap;
use tonic::Code;

use crate::common::*;
use crate::dimensions::{DIMENSIONS, expected};
use crate::model::*;
use crate::publish::{publish, recomputed_digest};
use crate::stack::Stack;

on_both_backends!(a_snapshot_survives_backfill_update_and_erasure,);

type Place = (String, i32, i32, String, String);

fn put(
    out: &mut BTreeMap<Place, f64>,
    section: &str,
    d: i32,
    m: i32,
    key: &str,
    figure: &str,
    v: f64,
) {
    out.insert((section.into(), d, m, key.into(), figure.into()), v);
}

fn summary(out: &mut BTreeMap<Place, f64>, section: &str, e: &Expected) {
    let figures = [
        ("registered_learners", e.registered as f64),
        ("new_learners", e.new as f64),
        ("active_learners", e.active as f64),
        ("enrollments", e.enrollments as f64),
        ("completions", e.completions as f64),
        (
            "completion_rate",
            rate(e.completed_of_created, e.enrollments),
        ),
        ("certificates_issued", e.completions as f64),
        ("learning_hours", e.minutes as f64 / 60.0),
    ];
    for (figure, v) in figures {
        put(out, section, 0, 0, "", figure, v);
    }
}

/// Every figure a platform snapshot of `p` (a half) holds, from the model.
fn figures(model: &Model, p: &Period) -> BTreeMap<Place, f64> {
    let mut out = BTreeMap::new();
    let now = model.figures(None, p);
    let before = model.figures(None, &p.previous());
    summary(&mut out, "summary", &now);
    summary(&mut out, "previous_period", &before);
    let year_ago = crate::yoy::year_before(p);
    let then = model.figures(None, &year_ago);
    summary(&mut out, "year_before", &then);
    put(
        &mut out,
        "summary",
        0,
        0,
        "",
        "year_on_year_growth",
        growth(now.registered, then.registered),
    );
    put(
        &mut out,
        "summary",
        0,
        0,
        "",
        "growth_rate",
        growth(now.registered, before.registered),
    );
    for d in DIMENSIONS {
        for (key, r) in expected(model, None, p, d) {
            let row = [
                ("new_learners", r.new as f64),
                ("enrollments", r.enrollments as f64),
                ("completions", r.completions as f64),
                (
                    "completion_rate",
                    rate(r.completed_of_created, r.enrollments),
                ),
                ("learning_hours", r.minutes as f64 / 60.0),
            ];
            for (figure, v) in row {
                put(&mut out, "breakdown", d as i32, 0, &key, figure, v);
            }
        }
    }
    let stages = model.funnel(None, p);
    for (i, (name, count)) in FUNNEL_STAGES.iter().zip(&stages).enumerate() {
        put(&mut out, "funnel", 0, 0, name, "count", *count as f64);
        let conversion = if i == 0 {
            1.0
        } else {
            rate(*count, stages[i - 1])
        };
        put(
            &mut out,
            "funnel",
            0,
            0,
            name,
            "conversion_from_previous",
            conversion,
        );
    }
    let mut start = p.start;
    while start <= p.end {
        let next = start.checked_add_months(chrono::Months::new(1)).unwrap();
        let month = Period {
            start,
            end: next.pred_opt().unwrap().min(p.end),
            half: None,
        };
        let f = model.figures(None, &month);
        let key = start.format("%Y-%m-%d").to_string();
        for (metric, v) in [
            (Metric::RegisteredLearners, f.registered as f64),
            (Metric::NewLearners, f.new as f64),
            (Metric::ActiveLearners, f.active as f64),
            (Metric::Enrollments, f.enrollments as f64),
            (Metric::Completions, f.completions as f64),
            (Metric::CertificatesIssued, f.completions as f64),
            (Metric::LearningHours, f.minutes as f64 / 60.0),
        ] {
            put(&mut out, "series", 0, metric as i32, &key, "value", v);
        }
        start = next;
    }
    out
}

/// What changed between two flattenings, a missing figure counting as 0.
fn changes(
    before: &BTreeMap<Place, f64>,
    after: &BTreeMap<Place, f64>,
) -> BTreeMap<Place, (f64, f64)> {
    before
        .keys()
        .chain(after.keys())
        .filter_map(|place| {
            let b = before.get(place).copied().unwrap_or(0.0);
            let a = after.get(place).copied().unwrap_or(0.0);
            (b != a).then(|| (place.clone(), (b, a)))
        })
        .collect()
}

async fn a_snapshot_survives_backfill_update_and_erasure(db: TestDb) {
    let (stack, mut model, _, mut reports) = seeded(db).await;
    let period = Period::half("period", "2024-H2").unwrap();
    let published = reports.publish(publish("2024-H2", "")).await;
    let compared = reports.compared(&published.id).await;
    assert!(!compared.drifted && compared.differences.is_empty());
    let at_publication = figures(&model, &period);

    let channel = Stack::channel(stack.learner).await;
    let mut learners = LearnerServiceClient::new(channel.clone());
    let mut enrollments = EnrollmentServiceClient::new(channel);
    // A backfill: a learner registered and enrolled inside the period.
    let course = model.course_skills.keys().next().unwrap().clone();
    let late = learners
        .register_learner(learner_pb::RegisterLearnerRequest {
            learner: Some(learner_pb::Learner {
                email: "late@example.az".into(),
                full_name: "Late Upload".into(),
                region: "Baku".into(),
                gender: Gender::Female as i32,
                birth_year: 1990,
                employment_status: EmploymentStatus::Student as i32,
                organization: "Org late".into(),
                ..Default::default()
            }),
            request_id: String::new(),
            registered_at: Some(noon(day(2024, 9, 10))),
        })
        .await
        .unwrap()
        .into_inner();
    let late_enrollment = enroll(&mut enrollments, &late.id, &course, "", day(2024, 9, 12)).await;
    model.learners.push(LearnerFact {
        id: late.id.clone(),
        register_day: day(2024, 9, 10),
        region: "Baku".into(),
        gender: "FEMALE".into(),
        birth_year: 1990,
        employment: "STUDENT".into(),
        organization: "Org late".into(),
        education: "unknown".into(),
    });
    model.enrollments.push(EnrollmentFact {
        id: late_enrollment.id,
        learner: late.id.clone(),
        course,
        program: String::new(),
        enroll_day: day(2024, 9, 12),
        complete_day: None,
    });
    // A learner new in the period moves, another one is erased (only
    // those not erased by the history: an erased learner has no
    // organisation; merged-away learners are no longer in the model).
    let mut in_period = model
        .learners
        .iter()
        .enumerate()
        .filter(|(_, l)| period.contains(l.register_day) && !l.organization.is_empty())
        .map(|(i, _)| i);
    let (moved, erased) = (in_period.next().unwrap(), in_period.next().unwrap());
    let region = if model.learners[moved].region == "Ganja-Dashkasan" {
        "Baku"
    } else {
        "Ganja-Dashkasan"
    };
    let moved_learner = learner_pb::Learner {
        id: model.learners[moved].id.clone(),
        region: region.into(),
        ..Default::default()
    };
    update_learner(&mut learners, "region", moved_learner).await;
    model.learners[moved].region = region.into();
    learners
        .erase_learner(learner_pb::EraseLearnerRequest {
            id: model.learners[erased].id.clone(),
        })
        .await
        .unwrap();
    model.learners[erased].organization = String::new();
    caught_up_with_producers(&stack, &mut reports).await;

    // The snapshot did not move by a byte.
    let again = reports.published(&published.id).await;
    assert_eq!(again.encode_to_vec(), published.encode_to_vec());
    assert_eq!(recomputed_digest(&again), published.digest);

    // The comparison lists exactly what the model says changed.
    let compared = reports.compared(&published.id).await;
    let want = changes(&at_publication, &figures(&model, &period));
    assert!(want.keys().any(|p| p.0 == "summary"), "the backfill shows");
    assert!(
        want.keys().any(|p| p.1 == Dimension::Region as i32),
        "the move shows"
    );
    assert!(
        want.keys()
            .any(|p| p.1 == Dimension::Organization as i32 && p.3.is_empty()),
        "the erasure shows"
    );
    let got: BTreeMap<Place, (f64, f64)> = compared
        .differences
        .iter()
        .map(|d| {
            assert_eq!(d.difference, d.live - d.published);
            (
                (
                    d.section.clone(),
                    d.dimension,
                    d.metric,
                    d.key.clone(),
                    d.figure.clone(),
                ),
                (d.published, d.live),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(compared.drifted);
    assert_eq!(compared.digest, published.digest);
    assert_eq!(
        compared.published_positions,
        published.content.as_ref().unwrap().positions
    );
    assert!(
        compared
            .live_positions
            .iter()
            .zip(&compared.published_positions)
            .any(|(live, then)| live.sequence > then.sequence)
    );

    for (id, code) in [
        ("00000000-0000-4000-8000-000000000000", Code::NotFound),
        ("nope", Code::InvalidArgument),
    ] {
        let err = reports
            .compare_with_published(pb::CompareWithPublishedRequest {
                snapshot_id: id.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), code);
    }
}
