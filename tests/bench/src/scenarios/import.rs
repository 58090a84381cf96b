//! ImportLearners at the program's size: generated learners streamed in
//! batches over a few concurrent client streams, as an operator's import
//! would; then the ids the other scenarios read and enroll.

use academy_domain::Region;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EmploymentStatus, Gender, Learner, ListLearnersRequest, RegisterLearnerRequest,
};
use academyctl::client::Authed;
use std::time::{Duration, Instant};

/// How the import went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Imported {
    pub(crate) created: i64,
    pub(crate) rejected: i64,
    pub(crate) elapsed: Duration,
}

fn row(i: u64) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        learner: Some(Learner {
            email: format!("bench{i}@example.az"),
            external_id: Some(format!("BENCH-{i:09}")),
            full_name: format!("Bench Learner {i}"),
            region: Region::ALL[(i % Region::ALL.len() as u64) as usize].to_owned(),
            gender: if i.is_multiple_of(2) {
                Gender::Female
            } else {
                Gender::Male
            } as i32,
            birth_year: 1960 + (i % 45) as i32,
            employment_status: EmploymentStatus::Employed as i32,
            organization: format!("Org {}", i % 300),
            ..Default::default()
        }),
        request_id: String::new(),
        registered_at: None,
    }
}

/// Imports learners `0..total`, `batch` rows per stream, `streams` streams
/// at a time.
pub(crate) async fn run(
    client: &LearnerServiceClient<Authed>,
    total: u64,
    batch: u64,
    streams: usize,
) -> anyhow::Result<Imported> {
    let started = Instant::now();
    let batches: Vec<(u64, u64)> = (0..total)
        .step_by(batch.max(1) as usize)
        .map(|from| (from, (from + batch).min(total)))
        .collect();
    let mut created = 0;
    let mut rejected = 0;
    for wave in batches.chunks(streams.max(1)) {
        let mut calls = Vec::new();
        for &(from, to) in wave {
            let mut client = client.clone();
            calls.push(tokio::spawn(async move {
                client
                    .import_learners(tokio_stream::iter((from..to).map(row)))
                    .await
                    .map(tonic::Response::into_inner)
            }));
        }
        for call in calls {
            let reply = call.await??;
            created += reply.created;
            rejected += reply.rejected_count;
        }
    }
    Ok(Imported {
        created,
        rejected,
        elapsed: started.elapsed(),
    })
}

/// Up to `wanted` learner ids, page by page.
pub(crate) async fn learner_ids(
    client: &mut LearnerServiceClient<Authed>,
    wanted: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(wanted);
    let mut page_token = String::new();
    while ids.len() < wanted {
        let page = client
            .list_learners(ListLearnersRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        ids.extend(page.learners.into_iter().map(|l| l.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    ids.truncate(wanted);
    Ok(ids)
}
