//! Data scopes on the real binaries with auth on (issue #15, item 6): a
//! token limited by its `programs`, `regions` or `organizations` claims
//! sees only that slice in every report, export and learner list, and is
//! refused (PERMISSION_DENIED) where a slice is not offered. A reader
//! without `reports.exact` gets small breakdown counts withheld (the
//! minimum cell size, here set to 3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{
    Stack, StackEnv, bearer, create_program, export_csv, program, publish, wait_for_feeds,
};
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{AddCourseToProgramRequest, Course};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EnrollRequest, GetLearnerRequest, Learner, ListLearnersRequest, RecordProgressRequest,
    RegisterLearnerRequest,
};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    Dimension, ExportReportRequest, GetBreakdownRequest, GetCrossTabRequest, GetFunnelRequest,
    GetProgramSummaryRequest, GetTimeSeriesRequest, Period, ReportKind,
};
use academy_runtime::auth::{DataScope, mint_limited, scope};
use prost_types::Timestamp;
use std::time::Duration;
use tonic::Code;
use tonic::transport::Channel;

const SECRET: &str = "e2e-data-scope-secret-e2e-data-scope-0123";

fn token(scopes: &[&str], data: &DataScope) -> String {
    mint_limited(
        SECRET,
        "academy",
        "academy",
        "e2e",
        scopes,
        data,
        Duration::from_secs(600),
    )
    .unwrap()
}

fn regions(names: &[&str]) -> DataScope {
    DataScope {
        regions: Some(names.iter().map(|s| (*s).to_owned()).collect()),
        ..Default::default()
    }
}

fn organizations(names: &[&str]) -> DataScope {
    DataScope {
        organizations: Some(names.iter().map(|s| (*s).to_owned()).collect()),
        ..Default::default()
    }
}

fn whole_history() -> Option<Period> {
    Some(Period {
        half: String::new(),
        start_date: Some(academy_proto::google::r#type::Date {
            year: 2020,
            month: 1,
            day: 1,
        }),
        end_date: Some(academy_proto::google::r#type::Date {
            year: 2025,
            month: 12,
            day: 31,
        }),
    })
}

/// The cross-tab of organisations by region over the whole history.
fn organization_by_region() -> GetCrossTabRequest {
    GetCrossTabRequest {
        program_id: String::new(),
        period: whole_history(),
        row_dimension: Dimension::Organization as i32,
        column_dimension: Dimension::Region as i32,
        limit: 0,
    }
}

/// The CSV export of the breakdown by organisation over the whole history.
fn organization_export() -> ExportReportRequest {
    ExportReportRequest {
        period: whole_history(),
        kind: ReportKind::Breakdown as i32,
        dimension: Dimension::Organization as i32,
        ..Default::default()
    }
}

/// The platform's funnel over the whole history.
fn funnel() -> GetFunnelRequest {
    GetFunnelRequest {
        program_id: String::new(),
        period: whole_history(),
    }
}

/// 2024-03-01T12:00:00Z plus `days`.
fn at(days: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: 1_709_294_400 + days * 86_400,
        nanos: 0,
    })
}

/// Region, organisation, enrolled in the program.
const PEOPLE: [(&str, &str, bool); 6] = [
    ("Baku", "ACME", true),
    ("Baku", "ACME", false),
    ("Baku", "ACME", true),
    ("Baku", "Beta", true),
    ("Ganja-Dashkasan", "Beta", true),
    ("Ganja-Dashkasan", "ACME", false),
];

struct Setup {
    program_id: String,
    learner_ids: Vec<String>,
}

async fn history(course: Channel, learner: Channel, admin: &str) -> Setup {
    let created = publish(
        course.clone(),
        Some(admin),
        Course {
            title: "Data scopes".into(),
            estimated_hours: 1.0,
            ..academy_e2e::course("DS-1", 1)
        },
    )
    .await;
    let program_id =
        create_program(course.clone(), Some(admin), program("Scoped program", 2024)).await;
    CourseServiceClient::new(course)
        .add_course_to_program(bearer(
            AddCourseToProgramRequest {
                program_id: program_id.clone(),
                course_id: created.id.clone(),
            },
            admin,
        ))
        .await
        .unwrap();
    let mut learners = LearnerServiceClient::new(learner.clone());
    let mut enrollments = EnrollmentServiceClient::new(learner);
    let mut learner_ids = Vec::new();
    for (i, (region, organization, in_program)) in PEOPLE.iter().enumerate() {
        let l = learners
            .register_learner(bearer(
                RegisterLearnerRequest {
                    learner: Some(Learner {
                        organization: (*organization).into(),
                        region: (*region).into(),
                        ..academy_e2e::learner(
                            &format!("scoped{i}@example.az"),
                            &format!("Scoped {i}"),
                        )
                    }),
                    request_id: String::new(),
                    registered_at: at(i as i64),
                },
                admin,
            ))
            .await
            .unwrap()
            .into_inner();
        let enrollment = enrollments
            .enroll(bearer(
                EnrollRequest {
                    learner_id: l.id.clone(),
                    course_id: created.id.clone(),
                    program_id: if *in_program {
                        program_id.clone()
                    } else {
                        String::new()
                    },
                    request_id: String::new(),
                    enrolled_at: at(10 + i as i64),
                    ..Default::default()
                },
                admin,
            ))
            .await
            .unwrap()
            .into_inner();
        enrollments
            .record_progress(bearer(
                RecordProgressRequest {
                    enrollment_id: enrollment.id,
                    module_id: created.modules[0].id.clone(),
                    minutes_spent: 30,
                    occurred_at: at(20 + i as i64),
                    request_id: String::new(),
                    ..Default::default()
                },
                admin,
            ))
            .await
            .unwrap();
        learner_ids.push(l.id);
    }
    Setup {
        program_id,
        learner_ids,
    }
}

async fn caught_up(reporting: Channel, admin: &str) {
    wait_for_feeds(
        reporting,
        Some(admin),
        Duration::from_secs(30),
        "reporting did not catch up",
        |sources| {
            sources.len() == 2
                && sources
                    .iter()
                    .all(|s| s.head_sequence > 0 && s.applied_sequence == s.head_sequence)
        },
    )
    .await;
}

#[tokio::test]
async fn data_scoped_tokens_see_only_their_slice() {
    let auth = [
        ("ACADEMY_AUTH_DISABLED", "false"),
        ("ACADEMY_AUTH_HS256_SECRET", SECRET),
    ];
    let Stack {
        course,
        learner,
        reporting,
    } = Stack::start_with(StackEnv {
        common: &auth,
        reporting: &[("ACADEMY_MIN_CELL_SIZE", "3")],
        ..Default::default()
    })
    .await;

    let admin = token(&scope::ALL, &DataScope::default());
    let setup = history(course.channel().await, learner.channel().await, &admin).await;
    let mut reports = ReportingServiceClient::new(reporting.channel().await);
    caught_up(reporting.channel().await, &admin).await;

    // A Baku-limited reader: the breakdown by region has figures in Baku only.
    let baku = token(
        &[
            scope::REPORTS_READ,
            scope::REPORTS_EXACT,
            scope::LEARNERS_READ,
            scope::LEARNERS_WRITE,
        ],
        &regions(&["Baku"]),
    );
    let breakdown = |dimension: Dimension| GetBreakdownRequest {
        program_id: String::new(),
        period: whole_history(),
        dimension: dimension as i32,
        limit: 0,
    };
    let rows = reports
        .get_breakdown(bearer(breakdown(Dimension::Region), &baku))
        .await
        .unwrap()
        .into_inner()
        .rows;
    for row in &rows {
        let (new, enrollments) = if row.key == "Baku" { (4, 4) } else { (0, 0) };
        assert_eq!(
            (row.new_learners, row.enrollments),
            (new, enrollments),
            "{}",
            row.key
        );
    }
    let unlimited = reports
        .get_breakdown(bearer(breakdown(Dimension::Organization), &admin))
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert_eq!(
        unlimited
            .iter()
            .map(|r| (r.key.as_str(), r.new_learners))
            .collect::<Vec<_>>(),
        [("ACME", 4), ("Beta", 2)],
        "the unlimited token sees everyone"
    );
    let by_org = reports
        .get_breakdown(bearer(breakdown(Dimension::Organization), &baku))
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert_eq!(
        by_org
            .iter()
            .map(|r| (r.key.as_str(), r.new_learners, r.learning_hours))
            .collect::<Vec<_>>(),
        [("ACME", 3, 1.5), ("Beta", 1, 0.5)]
    );

    // The summary over the slice.
    let summary = reports
        .get_program_summary(bearer(
            GetProgramSummaryRequest {
                program_id: String::new(),
                period: whole_history(),
            },
            &baku,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            summary.registered_learners,
            summary.new_learners,
            summary.active_learners,
            summary.enrollments
        ),
        (4, 4, 4, 4)
    );
    // In the program: the three Baku members.
    let in_program = reports
        .get_program_summary(bearer(
            GetProgramSummaryRequest {
                program_id: setup.program_id.clone(),
                period: whole_history(),
            },
            &baku,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (in_program.new_learners, in_program.active_learners),
        (3, 3)
    );

    // An ACME-limited cross-tab has ACME rows only.
    let acme = token(
        &[
            scope::REPORTS_READ,
            scope::REPORTS_EXACT,
            scope::LEARNERS_READ,
        ],
        &organizations(&["ACME"]),
    );
    let tab = reports
        .get_cross_tab(bearer(organization_by_region(), &acme))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        tab.rows
            .iter()
            .map(|r| (r.row_key.as_str(), r.column_key.as_str(), r.new_learners))
            .collect::<Vec<_>>(),
        [("ACME", "Baku", 3), ("ACME", "Ganja-Dashkasan", 1)]
    );

    // The export carries the slice too.
    let stream = reports
        .export_report(bearer(organization_export(), &baku))
        .await
        .unwrap()
        .into_inner();
    let csv = export_csv(stream).await;
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("ACME,ACME,3,3,"), "{csv}");

    // Reports a slice cannot be computed for are refused.
    let refused = [
        reports
            .get_funnel(bearer(funnel(), &baku))
            .await
            .map(|_| ()),
        reports
            .get_time_series(bearer(
                GetTimeSeriesRequest {
                    program_id: String::new(),
                    metric: 2,
                    granularity: 3,
                    start_date: whole_history().and_then(|p| p.start_date),
                    end_date: whole_history().and_then(|p| p.end_date),
                },
                &baku,
            ))
            .await
            .map(|_| ()),
        reports
            .get_breakdown(bearer(breakdown(Dimension::Skill), &baku))
            .await
            .map(|_| ()),
    ];
    for outcome in refused {
        assert_eq!(
            outcome.unwrap_err().code(),
            Code::PermissionDenied,
            "no slice here"
        );
    }

    // A program-limited token: its program only, never the platform.
    let program_only = token(
        &[scope::REPORTS_READ, scope::REPORTS_EXACT],
        &DataScope {
            programs: Some(vec![setup.program_id.clone()]),
            ..Default::default()
        },
    );
    let summary_of = |program_id: &str| GetProgramSummaryRequest {
        program_id: program_id.into(),
        period: whole_history(),
    };
    let own = reports
        .get_program_summary(bearer(summary_of(&setup.program_id), &program_only))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.new_learners, 4, "every program member");
    for other in ["", "01900000-0000-7000-8000-000000000000"] {
        let status = reports
            .get_program_summary(bearer(summary_of(other), &program_only))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "program {other:?}");
    }
    let status = reports
        .get_funnel(bearer(funnel(), &program_only))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Learner lists and reads answer within the slice.
    let mut learners = LearnerServiceClient::new(learner.channel().await);
    let listed = |token: &str| {
        let mut learners = learners.clone();
        let token = token.to_owned();
        async move {
            let mut names: Vec<String> = learners
                .list_learners(bearer(
                    ListLearnersRequest {
                        page_size: 100,
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .unwrap()
                .into_inner()
                .learners
                .into_iter()
                .map(|l| l.full_name)
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(
        listed(&baku).await,
        ["Scoped 0", "Scoped 1", "Scoped 2", "Scoped 3"]
    );
    assert_eq!(
        listed(&acme).await,
        ["Scoped 0", "Scoped 1", "Scoped 2", "Scoped 5"]
    );
    let ganja = &setup.learner_ids[4];
    let status = learners
        .get_learner(bearer(GetLearnerRequest { id: ganja.clone() }, &baku))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "outside the slice");
    let baku_learner = learners
        .get_learner(bearer(
            GetLearnerRequest {
                id: setup.learner_ids[0].clone(),
            },
            &baku,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(baku_learner.region, "Baku");
    // Methods that do not answer within a slice refuse a limited token.
    let status = learners
        .register_learner(bearer(
            RegisterLearnerRequest {
                learner: Some(Learner {
                    email: "elsewhere@example.az".into(),
                    full_name: "Elsewhere".into(),
                    region: "Ganja-Dashkasan".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
                registered_at: None,
            },
            &baku,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Without `reports.exact`: ACME (4) and Beta (2) by organisation; 2 is
    // below 3, and ACME goes too, or it would be the total minus ACME.
    let plain = token(&[scope::REPORTS_READ], &DataScope::default());
    let by_org = reports
        .get_breakdown(bearer(breakdown(Dimension::Organization), &plain))
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert_eq!(by_org.len(), 2);
    for row in &by_org {
        assert_eq!(
            (row.new_learners, row.enrollments, row.learning_hours),
            (0, 0, 0.0),
            "{}",
            row.key
        );
        assert_eq!(
            row.suppressed,
            [
                "new_learners",
                "enrollments",
                "completions",
                "completion_rate",
                "learning_hours"
            ]
        );
    }
    // Counts of 3 and more stay: all six are women.
    let by_gender = reports
        .get_breakdown(bearer(breakdown(Dimension::Gender), &plain))
        .await
        .unwrap()
        .into_inner()
        .rows;
    let female = by_gender.iter().find(|r| r.key == "FEMALE").unwrap();
    assert_eq!((female.new_learners, female.suppressed.len()), (6, 0));
    let tab = reports
        .get_cross_tab(bearer(organization_by_region(), &plain))
        .await
        .unwrap()
        .into_inner();
    assert!(
        tab.rows
            .iter()
            .all(|r| r.new_learners == 0 && !r.suppressed.is_empty()),
        "{tab:?}"
    );
    let stream = reports
        .export_report(bearer(organization_export(), &plain))
        .await
        .unwrap()
        .into_inner();
    let csv = export_csv(stream).await;
    assert!(
        csv.contains("ACME,ACME,suppressed,suppressed,suppressed,suppressed,suppressed"),
        "{csv}"
    );

    // A data-scope claim that cannot be read makes the token invalid.
    let bad = token(&[scope::REPORTS_READ], &regions(&["Atlantis"]));
    let status = reports
        .get_program_summary(bearer(summary_of(""), &bad))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}
