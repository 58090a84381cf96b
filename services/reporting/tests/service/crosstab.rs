//! GetCrossTab (#18 item 4): every pair of keys equals the independent
//! model's count, for learner × learner and course × learner dimensions,
//! platform-wide and in a program, on SQLite and PostgreSQL; the CSV
//! export carries the same numbers; bad requests are INVALID_ARGUMENT.

use academy_proto::reporting::{self as pb, Dimension};
use academy_testkit::{TestDb, on_both_backends};
use std::collections::BTreeMap;
use tonic::Code;

use crate::common::*;
use crate::model::*;

on_both_backends!(cross_tabs_match_the_source_data);

fn figures(rows: &[pb::CrossTabRow]) -> BTreeMap<(String, String), RowFigures> {
    rows.iter()
        .map(|r| {
            let f = RowFigures {
                new: r.new_learners,
                enrollments: r.enrollments,
                completions: r.completions,
                completed_of_created: (r.completion_rate * r.enrollments as f64).round() as i64,
                minutes: (r.learning_hours * 60.0).round() as i64,
            };
            ((r.row_key.clone(), r.column_key.clone()), f)
        })
        .collect()
}

/// The model's key of a learner (or the course) on a dimension.
fn side(d: Dimension, l: &LearnerFact, course: &str, p: &academy_domain::Period) -> String {
    match d {
        Dimension::Region => l.region.clone(),
        Dimension::Gender => l.gender.clone(),
        Dimension::AgeBand => Model::age_band(l, p),
        Dimension::EmploymentStatus => l.employment.clone(),
        Dimension::Organization => l.organization.clone(),
        _ => course.to_owned(),
    }
}

async fn cross_tabs_match_the_source_data(db: TestDb) {
    let (_stack, model, program, mut reports) = seeded(db).await;

    let pairs = [
        (Dimension::Gender, Dimension::Region),
        (Dimension::AgeBand, Dimension::EmploymentStatus),
        (Dimension::Organization, Dimension::Gender),
        (Dimension::Course, Dimension::Region),
        (Dimension::Organization, Dimension::Course),
    ];
    let periods = [
        half("2022-H1"),
        half("2023-H2"),
        dates(day(2021, 3, 1), day(2024, 8, 31)),
    ];
    let mut non_empty = 0;
    for period in &periods {
        let parsed = academy_reporting::convert::period("period", Some(period)).unwrap();
        for program_id in [None, Some(program.as_str())] {
            for (rows, columns) in pairs {
                let got = reports
                    .cross_tab((rows, columns), program_id, period, 0)
                    .await;
                assert!(!got.truncated);
                let by_course = rows == Dimension::Course || columns == Dimension::Course;
                let want = model.crosstab(program_id, &parsed, by_course, |l, course| {
                    (
                        side(rows, l, course, &parsed),
                        side(columns, l, course, &parsed),
                    )
                });
                non_empty += want.len();
                assert_eq!(
                    figures(&got.rows),
                    want,
                    "{rows:?} x {columns:?} in {parsed} program={program_id:?}"
                );
            }
        }
    }
    assert!(non_empty > 100, "the data fills the cross-tabs");

    // The CSV export carries the same cells.
    let period = half("2023-H2");
    let gender_by_region = (Dimension::Gender, Dimension::Region);
    let tab = reports.cross_tab(gender_by_region, None, &period, 0).await;
    let (header, exported) = reports
        .export_lines(pb::ExportReportRequest {
            period: Some(period.clone()),
            kind: pb::ReportKind::CrossTab as i32,
            dimension: Dimension::Gender as i32,
            second_dimension: Dimension::Region as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(
        header,
        "row_key,row_label,column_key,column_label,new_learners,enrollments,completions,completion_rate,learning_hours"
    );
    assert_eq!(exported.len(), tab.rows.len());
    for (line, row) in exported.iter().zip(&tab.rows) {
        assert_eq!(
            (line[0].as_str(), line[2].as_str()),
            (row.row_key.as_str(), row.column_key.as_str())
        );
        assert_eq!(line[5].parse::<i64>().unwrap(), row.enrollments);
    }

    // A limit cuts the rows and says so.
    let cut = reports.cross_tab(gender_by_region, None, &period, 2).await;
    assert_eq!(cut.rows, tab.rows[..2]);
    assert!(cut.truncated);

    // Bad requests name their fields.
    for (rows, columns, limit, fields) in [
        (0, 0, 0, vec!["row_dimension", "column_dimension"]),
        (
            Dimension::Skill as i32,
            Dimension::Region as i32,
            0,
            vec!["row_dimension"],
        ),
        (
            Dimension::Region as i32,
            Dimension::Region as i32,
            0,
            vec!["column_dimension"],
        ),
        (
            Dimension::Region as i32,
            Dimension::Gender as i32,
            10_001,
            vec!["limit"],
        ),
        (
            99,
            Dimension::Gender as i32,
            -1,
            vec!["row_dimension", "limit"],
        ),
    ] {
        let status = reports
            .get_cross_tab(pb::GetCrossTabRequest {
                program_id: String::new(),
                period: Some(period.clone()),
                row_dimension: rows,
                column_dimension: columns,
                limit,
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(academy_testkit::grpc::violated_fields(&status), fields);
    }
    let unknown = reports
        .get_cross_tab(pb::GetCrossTabRequest {
            program_id: "01900000-0000-7000-8000-000000000000".into(),
            period: Some(period),
            row_dimension: Dimension::Gender as i32,
            column_dimension: Dimension::Region as i32,
            limit: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}
