//! Unknown demographics and education level in breakdowns (#17 item 2):
//! every learner dimension has an "unknown" row, listed even at zero, and
//! EDUCATION_LEVEL lists ISCED_0 to ISCED_8. The figures over generated
//! data are checked against the model in `exactness.rs` and
//! `dimensions.rs`.

use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{self as learner_pb, EmploymentStatus, Gender};
use academy_proto::reporting::{self as pb, Dimension};
use academy_testkit::{TestDb, on_both_backends};
use std::time::Duration;

use crate::common::{Reports, half};
use crate::stack::Stack;

on_both_backends!(learner_dimensions_have_an_unknown_row,);

const LEARNER_DIMENSIONS: [Dimension; 5] = [
    Dimension::Region,
    Dimension::Gender,
    Dimension::AgeBand,
    Dimension::EmploymentStatus,
    Dimension::EducationLevel,
];

async fn rows(reports: &mut Reports, period: &str, dimension: Dimension) -> Vec<pb::BreakdownRow> {
    reports
        .breakdown(None, &half(period), dimension, 0)
        .await
        .rows
}

fn unknown_new_learners(rows: &[pb::BreakdownRow]) -> Option<i64> {
    rows.iter()
        .find(|r| r.key == "unknown")
        .map(|r| r.new_learners)
}

async fn learner_dimensions_have_an_unknown_row(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut reports = Reports::connect(stack.reporting).await;
    let mut learners = LearnerServiceClient::new(Stack::channel(stack.learner).await);
    learners
        .register_learner(learner_pb::RegisterLearnerRequest {
            learner: Some(learner_pb::Learner {
                email: "provider.only@example.az".into(),
                full_name: "Provider Only".into(),
                region: "unknown".into(),
                gender: Gender::Unknown as i32,
                birth_year: 0,
                employment_status: EmploymentStatus::Unknown as i32,
                education_level: None,
                ..Default::default()
            }),
            request_id: String::new(),
            registered_at: Some(prost_types::Timestamp {
                seconds: 1_680_000_000, // 2023-03-28
                nanos: 0,
            }),
        })
        .await
        .unwrap();

    // The learner counts in the unknown row of every learner dimension.
    for dimension in LEARNER_DIMENSIONS {
        let mut got = None;
        for _ in 0..300 {
            got = unknown_new_learners(&rows(&mut reports, "2023-H1", dimension).await);
            if got == Some(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(got, Some(1), "{dimension:?}: the unknown learner");
        let all = rows(&mut reports, "2023-H1", dimension).await;
        assert_eq!(
            all.iter().map(|r| r.new_learners).sum::<i64>(),
            1,
            "{dimension:?}: counted once, in unknown"
        );
    }

    // A period without data still lists unknown, at zero, and every level.
    for dimension in LEARNER_DIMENSIONS {
        let empty = rows(&mut reports, "2021-H1", dimension).await;
        assert_eq!(unknown_new_learners(&empty), Some(0), "{dimension:?}");
        if dimension == Dimension::EducationLevel {
            let keys: Vec<&str> = empty.iter().map(|r| r.key.as_str()).collect();
            let want: Vec<String> = (0..=8)
                .map(|l| format!("ISCED_{l}"))
                .chain(["unknown".to_owned()])
                .collect();
            assert_eq!(keys, want, "every level, then unknown");
        }
    }
}
