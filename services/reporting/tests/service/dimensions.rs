//! Every breakdown dimension on the platform and on the program, every
//! time-series metric at every granularity, and every CSV column, against
//! the independent model; and a second replica, whose model is loaded from
//! the tables the first one wrote, answers exactly the same.

use academy_domain::Period;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{self as pb, Dimension};
use academy_testkit::{TestDb, on_both_backends};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use tonic::transport::Channel;

use crate::common::*;
use crate::model::*;

on_both_backends!(every_dimension_metric_granularity_and_csv_column_matches,);

pub(crate) const DIMENSIONS: [Dimension; 8] = [
    Dimension::Region,
    Dimension::Gender,
    Dimension::AgeBand,
    Dimension::EmploymentStatus,
    Dimension::Organization,
    Dimension::Course,
    Dimension::Skill,
    Dimension::EducationLevel,
];

pub(crate) fn expected(
    model: &Model,
    program: Option<&str>,
    p: &Period,
    d: Dimension,
) -> BTreeMap<String, RowFigures> {
    let rows = match d {
        Dimension::Region => model.by_learner_in(program, p, |l| l.region.clone()),
        Dimension::Gender => model.by_learner_in(program, p, |l| l.gender.clone()),
        Dimension::AgeBand => model.by_learner_in(program, p, |l| Model::age_band(l, p)),
        Dimension::EmploymentStatus => model.by_learner_in(program, p, |l| l.employment.clone()),
        Dimension::Organization => model.by_learner_in(program, p, |l| l.organization.clone()),
        Dimension::Course => model.by_catalog(program, p, |c| vec![c.to_owned()]),
        Dimension::Skill => model.by_catalog(program, p, |c| model.skills_of(c)),
        Dimension::EducationLevel => model.by_learner_in(program, p, |l| l.education.clone()),
        Dimension::Unspecified => BTreeMap::new(),
    };
    rows.into_iter()
        .filter(|(_, f)| *f != RowFigures::default())
        .collect()
}

async fn series(
    reports: &mut ReportingServiceClient<Channel>,
    program: Option<&str>,
    metric: pb::Metric,
    granularity: pb::Granularity,
    (start, end): (NaiveDate, NaiveDate),
) -> pb::GetTimeSeriesResponse {
    reports
        .get_time_series(pb::GetTimeSeriesRequest {
            program_id: program.unwrap_or_default().into(),
            metric: metric as i32,
            granularity: granularity as i32,
            start_date: Some(academy_runtime::time::date(start)),
            end_date: Some(academy_runtime::time::date(end)),
        })
        .await
        .unwrap()
        .into_inner()
}

fn metric_value(want: &Expected, metric: pb::Metric) -> f64 {
    match metric {
        pb::Metric::RegisteredLearners => want.registered as f64,
        pb::Metric::NewLearners => want.new as f64,
        pb::Metric::ActiveLearners => want.active as f64,
        pb::Metric::Enrollments => want.enrollments as f64,
        // A certificate is issued with every completion.
        pb::Metric::Completions | pb::Metric::CertificatesIssued => want.completions as f64,
        pb::Metric::LearningHours => want.minutes as f64 / 60.0,
        // This suite sends no invitations.
        pb::Metric::Invited | pb::Metric::Joined => 0.0,
        pb::Metric::Unspecified => f64::NAN,
    }
}

/// The CSV export of `kind` (by `dimension`), parsed.
async fn export(
    reports: &mut Reports,
    program_id: Option<&str>,
    period: &pb::Period,
    kind: pb::ReportKind,
    dimension: Dimension,
) -> Vec<Vec<String>> {
    let req = pb::ExportReportRequest {
        program_id: program_id.unwrap_or_default().into(),
        period: Some(period.clone()),
        kind: kind as i32,
        dimension: dimension as i32,
        ..Default::default()
    };
    let csv = reports.export_csv(req).await;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

async fn every_dimension_metric_granularity_and_csv_column_matches(db: TestDb) {
    let (stack, model, program, mut reports) = seeded(db).await;
    assert!(
        model
            .learners
            .iter()
            .map(|l| &l.employment)
            .collect::<std::collections::HashSet<_>>()
            .len()
            > 1,
        "the data has several employment statuses"
    );

    let periods = [half("2023-H1"), dates(day(2021, 6, 1), day(2024, 2, 29))];
    for period in &periods {
        let parsed = academy_reporting::convert::period("period", Some(period)).unwrap();
        for scope in [None, Some(program.as_str())] {
            for d in DIMENSIONS {
                let got = RowFigures::of_rows(&reports.breakdown(scope, period, d, 0).await.rows);
                assert_eq!(
                    got,
                    expected(&model, scope, &parsed, d),
                    "{d:?} breakdown, {parsed}, program {scope:?}"
                );
            }
        }
    }

    // Every metric at every granularity, on both scopes.
    let ranges = [
        (pb::Granularity::Day, (day(2022, 3, 1), day(2022, 4, 15))),
        (pb::Granularity::Week, (day(2022, 1, 5), day(2022, 9, 30))),
        (pb::Granularity::Month, (day(2021, 1, 1), day(2024, 12, 31))),
    ];
    let metrics = [
        pb::Metric::RegisteredLearners,
        pb::Metric::NewLearners,
        pb::Metric::ActiveLearners,
        pb::Metric::Enrollments,
        pb::Metric::Completions,
        pb::Metric::CertificatesIssued,
        pb::Metric::LearningHours,
    ];
    for (granularity, range) in ranges {
        let whole = Period::range("p", range.0, range.1).unwrap();
        let buckets = academy_reporting::figures::series::buckets(
            &whole,
            academy_reporting::convert::granularity(granularity as i32).unwrap(),
        );
        for scope in [None, Some(program.as_str())] {
            for metric in metrics {
                let got = series(&mut reports, scope, metric, granularity, range).await;
                assert_eq!(got.points.len(), buckets.len(), "{granularity:?} buckets");
                for (point, bucket) in got.points.iter().zip(&buckets) {
                    let want = metric_value(&model.figures(scope, bucket), metric);
                    assert!(
                        (point.value - want).abs() < 1e-9,
                        "{metric:?} {granularity:?} {} program {scope:?}: got {}, want {want}",
                        bucket.start,
                        point.value
                    );
                }
            }
        }
    }

    // Every CSV column equals the answer it exports.
    let period = half("2023-H1");
    for scope in [None, Some(program.as_str())] {
        let summary = reports.summary(scope, &period).await;
        let kind = pb::ReportKind::Summary;
        let lines = export(&mut reports, scope, &period, kind, Dimension::Unspecified).await;
        assert_eq!(lines.len(), 3, "header, previous period, period");
        let current = &lines[2];
        let numbers: Vec<f64> = current[2..].iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(
            numbers,
            [
                summary.registered_learners as f64,
                summary.new_learners as f64,
                summary.active_learners as f64,
                summary.enrollments as f64,
                summary.completions as f64,
                summary.completion_rate,
                summary.certificates_issued as f64,
                summary.learning_hours,
                summary.growth_rate,
                summary.invited as f64,
                summary.joined as f64,
                summary.invitation_conversion,
            ],
            "summary CSV columns"
        );
        for d in DIMENSIONS {
            let answer = reports.breakdown(scope, &period, d, 0).await;
            let lines = export(&mut reports, scope, &period, pb::ReportKind::Breakdown, d).await;
            assert_eq!(lines.len(), answer.rows.len() + 1, "{d:?}: a line per row");
            for (line, row) in lines[1..].iter().zip(&answer.rows) {
                let want = [
                    row.key.clone(),
                    row.label.clone(),
                    row.new_learners.to_string(),
                    row.enrollments.to_string(),
                    row.completions.to_string(),
                    row.completion_rate.to_string(),
                    row.learning_hours.to_string(),
                    row.invited.to_string(),
                    row.joined.to_string(),
                ];
                assert_eq!(line.as_slice(), want.as_slice(), "{d:?} CSV row");
            }
        }
    }

    // A second replica loads its model from the tables: same answers.
    let second = stack.another_reporting().await;
    let mut other = Reports::connect(second).await;
    caught_up(&stack, &mut other).await;
    for scope in [None, Some(program.as_str())] {
        for d in DIMENSIONS {
            assert_eq!(
                other.breakdown(scope, &period, d, 0).await,
                reports.breakdown(scope, &period, d, 0).await,
                "{d:?} from a replica loaded from the tables"
            );
        }
        for metric in metrics {
            let range = (day(2021, 1, 1), day(2024, 12, 31));
            assert_eq!(
                series(&mut other, scope, metric, pb::Granularity::Month, range).await,
                series(&mut reports, scope, metric, pb::Granularity::Month, range).await,
                "{metric:?} from a replica loaded from the tables"
            );
        }
    }
}
