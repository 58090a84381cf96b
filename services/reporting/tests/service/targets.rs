//! SetTarget and ListTargets: summary and breakdown answers carry each
//! target with the figure it aims at (checked against the independent
//! model) and its attainment; a snapshot keeps the targets it was
//! published with; bad targets are refused and write nothing.

use academy_domain::Period;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{self as pb, Dimension, Metric};
use academy_testkit::{TestDb, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

use crate::common::*;
use crate::publish::publish;

on_both_backends!(
    targets_carry_attainment_and_stay_with_snapshots,
    share_targets_carry_the_keys_share_of_the_dimension,
    the_share_migration_keeps_existing_targets,
);

fn target(
    program: &str,
    metric: Metric,
    d: Dimension,
    key: &str,
    value: f64,
) -> pb::SetTargetRequest {
    pb::SetTargetRequest {
        program_id: program.into(),
        period: Some(half("2024-H2")),
        metric: metric as i32,
        dimension: d as i32,
        key: key.into(),
        value,
        share: false,
    }
}

/// A platform-wide target on a headline figure (no dimension, no key).
fn headline(metric: Metric, value: f64) -> pb::SetTargetRequest {
    target("", metric, Dimension::Unspecified, "", value)
}

/// A share target: `percent` of the dimension's total for `key`.
fn share(metric: Metric, d: Dimension, key: &str, percent: f64) -> pb::SetTargetRequest {
    pb::SetTargetRequest {
        share: true,
        ..target("", metric, d, key, percent)
    }
}

/// `part` as a percentage of `total`, as the service computes it.
fn percent(part: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * part as f64 / total as f64
    }
}

async fn list(reports: &mut ReportingServiceClient<Channel>, program: &str) -> Vec<pb::Target> {
    reports
        .list_targets(pb::ListTargetsRequest {
            program_id: program.into(),
            period: Some(half("2024-H2")),
        })
        .await
        .unwrap()
        .into_inner()
        .targets
}

async fn targets_carry_attainment_and_stay_with_snapshots(db: TestDb) {
    let (_stack, model, program, mut reports) = seeded(db).await;
    let period = Period::half("period", "2024-H2").unwrap();

    for req in [
        headline(Metric::NewLearners, 20.0),
        headline(Metric::LearningHours, 10.0),
        target(
            &program,
            Metric::Enrollments,
            Dimension::Unspecified,
            "",
            8.0,
        ),
        target("", Metric::NewLearners, Dimension::Region, "Baku", 4.0),
        target("", Metric::Enrollments, Dimension::Gender, "FEMALE", 5.0),
    ] {
        let set = reports.set_target(req.clone()).await.unwrap().into_inner();
        assert_eq!((set.metric, set.value), (req.metric, req.value));
    }
    // Setting a target again replaces it.
    reports
        .set_target(headline(Metric::NewLearners, 25.0))
        .await
        .unwrap();
    let platform = list(&mut reports, "").await;
    assert_eq!(platform.len(), 4, "{platform:?}");
    assert_eq!(list(&mut reports, &program).await.len(), 1);

    let summary = reports.summary(None, &half("2024-H2")).await;
    let want = model.figures(None, &period);
    let carried: Vec<_> = summary
        .targets
        .iter()
        .map(|t| (t.metric, t.target, t.actual, t.attainment))
        .collect();
    assert_eq!(
        carried,
        [
            (
                Metric::NewLearners as i32,
                25.0,
                want.new as f64,
                want.new as f64 / 25.0
            ),
            (
                Metric::LearningHours as i32,
                10.0,
                want.minutes as f64 / 60.0,
                want.minutes as f64 / 60.0 / 10.0
            ),
        ]
    );
    let in_program = reports.summary(Some(&program), &half("2024-H2")).await;
    let want_program = model.figures(Some(&program), &period);
    assert_eq!(in_program.targets.len(), 1);
    assert_eq!(
        in_program.targets[0].actual,
        want_program.enrollments as f64
    );
    // Another period has none.
    let other = reports.summary(None, &half("2024-H1")).await;
    assert!(other.targets.is_empty());

    let by_region = model.by_learner(&period, |l| l.region.clone());
    let by_gender = model.by_learner(&period, |l| l.gender.clone());
    for (d, key, metric, target, want) in [
        (
            Dimension::Region,
            "Baku",
            Metric::NewLearners,
            4.0,
            by_region.get("Baku").map_or(0, |r| r.new),
        ),
        (
            Dimension::Gender,
            "FEMALE",
            Metric::Enrollments,
            5.0,
            by_gender.get("FEMALE").map_or(0, |r| r.enrollments),
        ),
    ] {
        let answer = reports.breakdown(None, &half("2024-H2"), d, 0).await;
        for row in &answer.rows {
            if row.key == key {
                let t = &row.targets;
                assert_eq!(t.len(), 1, "{key}");
                assert_eq!((t[0].metric, t[0].target), (metric as i32, target));
                assert_eq!(t[0].actual, want as f64, "{key}");
                assert_eq!(t[0].attainment, want as f64 / target);
            } else {
                assert!(row.targets.is_empty(), "{}", row.key);
            }
        }
    }

    // A snapshot keeps the targets it was published with.
    let published = reports.publish(publish("2024-H2", "")).await;
    let content = published.content.clone().unwrap();
    assert_eq!(content.targets, platform);
    assert_eq!(content.summary.as_ref().unwrap().targets, summary.targets);
    reports
        .set_target(headline(Metric::NewLearners, 30.0))
        .await
        .unwrap();
    let again = reports.published(&published.id).await;
    assert_eq!(again, published);
    let live = reports.summary(None, &half("2024-H2")).await;
    assert_eq!(live.targets[0].target, 30.0);
    let compared = reports.compared(&published.id).await;
    assert!(!compared.drifted, "a new target is not a restated figure");

    // Bad targets: the exact code, nothing written.
    let before = list(&mut reports, "").await;
    let bad = [
        (headline(Metric::NewLearners, -1.0), Code::InvalidArgument),
        (
            headline(Metric::NewLearners, f64::NAN),
            Code::InvalidArgument,
        ),
        (
            headline(Metric::NewLearners, f64::INFINITY),
            Code::InvalidArgument,
        ),
        (headline(Metric::Unspecified, 1.0), Code::InvalidArgument),
        (
            pb::SetTargetRequest {
                metric: 99,
                ..headline(Metric::NewLearners, 1.0)
            },
            Code::InvalidArgument,
        ),
        (
            target("", Metric::NewLearners, Dimension::Region, "Atlantis", 1.0),
            Code::InvalidArgument,
        ),
        (
            target(
                "",
                Metric::NewLearners,
                Dimension::Course,
                "no-such-course",
                1.0,
            ),
            Code::InvalidArgument,
        ),
        (
            target("", Metric::ActiveLearners, Dimension::Region, "Baku", 1.0),
            Code::InvalidArgument,
        ),
        (
            target("", Metric::NewLearners, Dimension::Unspecified, "Baku", 1.0),
            Code::InvalidArgument,
        ),
        (
            pb::SetTargetRequest {
                dimension: 42,
                ..target("", Metric::NewLearners, Dimension::Region, "Baku", 1.0)
            },
            Code::InvalidArgument,
        ),
        (
            target(
                "00000000-0000-4000-8000-000000000000",
                Metric::NewLearners,
                Dimension::Unspecified,
                "",
                1.0,
            ),
            Code::NotFound,
        ),
        (
            pb::SetTargetRequest {
                period: None,
                ..headline(Metric::NewLearners, 1.0)
            },
            Code::InvalidArgument,
        ),
    ];
    for (req, code) in bad {
        let err = reports.set_target(req.clone()).await.unwrap_err();
        assert_eq!(err.code(), code, "{req:?}: {err:?}");
    }
    assert_eq!(list(&mut reports, "").await, before);
}

async fn share_targets_carry_the_keys_share_of_the_dimension(db: TestDb) {
    let (_stack, model, _, mut reports) = seeded(db).await;
    let period = Period::half("period", "2024-H2").unwrap();
    let want = model.figures(None, &period);
    let by_region = model.by_learner(&period, |l| l.region.clone());
    let by_gender = model.by_learner(&period, |l| l.gender.clone());
    let female = by_gender.get("FEMALE").cloned().unwrap_or_default();
    let baku = by_region.get("Baku").cloned().unwrap_or_default();
    assert!(want.new > 0 && female.new > 0, "the history has new women");

    // The summary is read first: its targets are cached, and SetTarget must
    // drop them.
    let first = reports.summary(None, &half("2024-H2")).await;
    assert!(first.targets.is_empty());
    for req in [
        // 40% of new learners are women; 25% of enrollments are in Baku.
        share(Metric::NewLearners, Dimension::Gender, "FEMALE", 40.0),
        share(Metric::Enrollments, Dimension::Region, "Baku", 25.0),
        // An absolute target on the same key and metric is another target.
        target("", Metric::NewLearners, Dimension::Gender, "FEMALE", 5.0),
    ] {
        let set = reports.set_target(req.clone()).await.unwrap().into_inner();
        assert_eq!((set.share, set.value), (req.share, req.value));
    }
    // Setting a share again replaces only the share.
    reports
        .set_target(share(
            Metric::NewLearners,
            Dimension::Gender,
            "FEMALE",
            50.0,
        ))
        .await
        .unwrap();
    let listed: Vec<_> = list(&mut reports, "")
        .await
        .iter()
        .map(|t| (t.share, t.dimension, t.key.clone(), t.value))
        .collect();
    assert_eq!(
        listed,
        [
            (false, Dimension::Gender as i32, "FEMALE".to_owned(), 5.0),
            (true, Dimension::Region as i32, "Baku".to_owned(), 25.0),
            (true, Dimension::Gender as i32, "FEMALE".to_owned(), 50.0),
        ]
    );

    // The summary: share targets after the headline ones (none here), with
    // the key's share of the headline figure.
    let summary = reports.summary(None, &half("2024-H2")).await;
    let female_share = percent(female.new, want.new);
    let baku_share = percent(baku.enrollments, want.enrollments);
    let carried: Vec<_> = summary
        .targets
        .iter()
        .map(|t| {
            (
                t.share,
                t.dimension,
                t.key.clone(),
                t.metric,
                t.target,
                t.actual,
                t.attainment,
            )
        })
        .collect();
    assert_eq!(
        carried,
        [
            (
                true,
                Dimension::Region as i32,
                "Baku".to_owned(),
                Metric::Enrollments as i32,
                25.0,
                baku_share,
                baku_share / 25.0
            ),
            (
                true,
                Dimension::Gender as i32,
                "FEMALE".to_owned(),
                Metric::NewLearners as i32,
                50.0,
                female_share,
                female_share / 50.0
            ),
        ]
    );

    // The GENDER breakdown: the FEMALE row carries its absolute target,
    // then its share; the share does not depend on the rows shown.
    for limit in [0, 1] {
        let answer = reports
            .breakdown(None, &half("2024-H2"), Dimension::Gender, limit)
            .await;
        for row in &answer.rows {
            let carried: Vec<_> = row
                .targets
                .iter()
                .map(|t| (t.share, t.target, t.actual))
                .collect();
            if row.key == "FEMALE" {
                assert_eq!(
                    carried,
                    [(false, 5.0, female.new as f64), (true, 50.0, female_share)],
                    "limit {limit}"
                );
            } else {
                assert!(carried.is_empty(), "{}", row.key);
            }
        }
    }

    // A snapshot keeps the share targets and their attainment.
    let published = reports.publish(publish("2024-H2", "")).await;
    let content = published.content.clone().unwrap();
    assert_eq!(content.targets.iter().filter(|t| t.share).count(), 2);
    assert_eq!(content.summary.as_ref().unwrap().targets, summary.targets);
    let gender = content
        .breakdowns
        .iter()
        .find(|b| b.dimension == Dimension::Gender as i32)
        .unwrap();
    let row = gender.rows.iter().find(|r| r.key == "FEMALE").unwrap();
    assert_eq!(row.targets.len(), 2);
    assert_eq!(row.targets[1].actual, female_share);

    // Bad share targets: the exact field, nothing written.
    let before = list(&mut reports, "").await;
    for (req, field) in [
        (
            share(Metric::NewLearners, Dimension::Gender, "FEMALE", 100.5),
            "value",
        ),
        (
            share(Metric::NewLearners, Dimension::Gender, "FEMALE", -1.0),
            "value",
        ),
        (
            share(Metric::NewLearners, Dimension::Gender, "FEMALE", f64::NAN),
            "value",
        ),
        (
            share(Metric::NewLearners, Dimension::Unspecified, "", 40.0),
            "dimension",
        ),
        (
            share(Metric::NewLearners, Dimension::Region, "", 40.0),
            "key",
        ),
        (
            share(Metric::NewLearners, Dimension::Region, "Atlantis", 40.0),
            "key",
        ),
        (
            share(Metric::ActiveLearners, Dimension::Region, "Baku", 40.0),
            "metric",
        ),
    ] {
        let err = reports.set_target(req.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{req:?}: {err:?}");
        let violations = academy_testkit::grpc::violated_fields(&err);
        assert!(
            violations.iter().any(|f| f == field),
            "{req:?}: {violations:?}"
        );
    }
    assert_eq!(list(&mut reports, "").await, before);
}

/// `r_target` before share targets: its rows become absolute targets, and
/// going down keeps only those.
async fn the_share_migration_keeps_existing_targets(db: TestDb) {
    use academy_reporting::migration::Migrator;
    use sea_orm::ConnectionTrait;
    use sea_orm_migration::MigratorTrait;

    let conn = academy_runtime::db::connect(&db.url).await.unwrap();
    let before_share = Migrator::migrations().len() as u32 - 1;
    Migrator::up(&conn, Some(before_share)).await.unwrap();
    conn.execute_unprepared(
        "INSERT INTO r_target (program_id, period_start, period_end, metric, dimension, key, \
         value, set_time) VALUES ('', '2024-07-01', '2024-12-31', 2, 2, 'FEMALE', 20.0, \
         '2026-01-01T00:00:00Z')",
    )
    .await
    .unwrap();
    Migrator::up(&conn, None).await.unwrap();
    let rows = |conn: sea_orm::DatabaseConnection| async move {
        let mut found = Vec::new();
        for row in conn
            .query_all_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT share, value FROM r_target ORDER BY share",
            ))
            .await
            .unwrap()
        {
            found.push((
                row.try_get::<bool>("", "share").unwrap(),
                row.try_get::<f64>("", "value").unwrap(),
            ));
        }
        found
    };
    assert_eq!(rows(conn.clone()).await, [(false, 20.0)]);
    // The same key and metric can now also have a share target.
    conn.execute_unprepared(
        "INSERT INTO r_target (program_id, period_start, period_end, metric, dimension, key, \
         share, value, set_time) VALUES ('', '2024-07-01', '2024-12-31', 2, 2, 'FEMALE', TRUE, \
         40.0, '2026-01-01T00:00:00Z')",
    )
    .await
    .unwrap();
    assert_eq!(rows(conn.clone()).await, [(false, 20.0), (true, 40.0)]);
    Migrator::down(&conn, Some(1)).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    assert_eq!(rows(conn.clone()).await, [(false, 20.0)]);
}
