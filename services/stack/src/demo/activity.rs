//! The demo's activity: enrollments in the program's courses, then module
//! progress on most of them; about half run to completion.

use academy_proto::learner as learner_pb;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academyctl::client::Authed;
use chrono::{Duration as Days, TimeZone, Utc};
use std::collections::HashMap;

use super::learners::Registered;
use super::streams::{self as bounded, Counts};
use super::tally::Tally;
use super::{Rng, timestamp};

/// Most learners take one course within two months of registering, some
/// two or three, a few none yet.
pub(super) async fn enroll(
    client: EnrollmentServiceClient<Authed>,
    rng: &mut Rng,
    learners: &[Registered],
    courses: &HashMap<String, Vec<String>>,
    program: &str,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let mut course_ids: Vec<&String> = courses.keys().collect();
    course_ids.sort();
    let now = Utc::now() - Days::days(1);
    let mut rows = Vec::new();
    for learner in learners {
        let count = [0, 1, 1, 1, 2, 2, 3][rng.below(7) as usize];
        let first = rng.below(course_ids.len() as u64) as usize;
        for c in 0..count {
            let at = (learner.at + Days::days(rng.below(60) as i64))
                .min(now)
                .max(learner.at);
            tally.enrollment(&learner.region, at);
            rows.push(learner_pb::EnrollRequest {
                learner_id: learner.id.clone(),
                course_id: course_ids[(first + c * 7) % course_ids.len()].clone(),
                program_id: program.to_owned(),
                request_id: String::new(),
                enrolled_at: Some(timestamp(at)),
                ..Default::default()
            });
        }
    }
    bounded::send_and_report("enrollments", "created", rows, |rows| {
        let mut client = client.clone();
        async move {
            let reply = client.bulk_enroll(rows).await?.into_inner();
            Ok(Counts {
                written: reply.created,
                duplicates: reply.duplicates,
                rejected: reply.rejected_count,
            })
        }
    })
    .await
}

/// Progress on most enrollments; about half complete their course.
pub(super) async fn progress(
    mut client: EnrollmentServiceClient<Authed>,
    rng: &mut Rng,
    courses: &HashMap<String, Vec<String>>,
    regions: &HashMap<String, String>,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let mut calls = Vec::new();
    let mut token = String::new();
    let now = Utc::now() - Days::hours(1);
    loop {
        let page = client
            .list_enrollments(learner_pb::ListEnrollmentsRequest {
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await?
            .into_inner();
        for e in page.enrollments {
            let Some(modules) = courses.get(&e.course_id) else {
                continue;
            };
            let done = match rng.below(10) {
                0..=2 => 0,
                3..=5 => 1 + rng.below(modules.len() as u64 - 1) as usize,
                _ => modules.len(),
            };
            let mut at = e
                .enroll_time
                .and_then(|t| Utc.timestamp_opt(t.seconds, 0).single())
                .unwrap_or(now);
            let region = regions.get(&e.learner_id).map_or("", String::as_str);
            for (m, module) in modules[..done].iter().enumerate() {
                at = (at + Days::days(1 + rng.below(20) as i64)).min(now);
                let minutes = 20 + rng.below(100) as i32;
                let completes = m + 1 == modules.len();
                tally.progress(&e.learner_id, region, at, i64::from(minutes), completes);
                calls.push(learner_pb::RecordProgressRequest {
                    enrollment_id: e.id.clone(),
                    module_id: module.clone(),
                    minutes_spent: minutes,
                    occurred_at: Some(timestamp(at)),
                    request_id: format!("demo-{}-{}", e.id, module),
                    ..Default::default()
                });
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    bounded::send_and_report("progress", "recorded", calls, |rows| {
        let mut client = client.clone();
        async move {
            let reply = client.bulk_record_progress(rows).await?.into_inner();
            Ok(Counts {
                written: reply.recorded,
                duplicates: reply.duplicates,
                rejected: reply.rejected_count,
            })
        }
    })
    .await
}
