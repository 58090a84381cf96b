//! The demo's learners: 400 in the first year growing to the full size
//! after twelve, spread over the 14 economic regions.

use academy_domain::Region;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{self as learner_pb, EmploymentStatus, Gender};
use academyctl::client::Authed;
use chrono::{DateTime, Datelike, Duration as Days, TimeZone, Utc};

use super::streams::{self as bounded, Counts};
use super::tally::Tally;
use super::{FIRST_YEAR, Rng, YEARS, cumulative, timestamp};

/// The generated learners in registration order, sent to ImportLearners in
/// bounded streams; returns them with the Academy ids the import answered
/// per row (issue #17: no paging through every learner to find them).
pub(super) async fn import_learners(
    client: LearnerServiceClient<Authed>,
    rng: &mut Rng,
    total: u64,
    tally: &mut Tally,
) -> anyhow::Result<Vec<Registered>> {
    let total = total.max(400);
    let mut rows = Vec::with_capacity(total as usize);
    let mut generated = Vec::with_capacity(total as usize);
    let genders = [
        Gender::Female,
        Gender::Male,
        Gender::Female,
        Gender::Male,
        Gender::Undisclosed,
    ];
    let statuses = [
        EmploymentStatus::Employed,
        EmploymentStatus::Unemployed,
        EmploymentStatus::Student,
        EmploymentStatus::SelfEmployed,
    ];
    let mut n = 0u64;
    for year in 1..=YEARS {
        let new = cumulative(year, total)
            - if year == 1 {
                0
            } else {
                cumulative(year - 1, total)
            };
        let start = Utc
            .with_ymd_and_hms(FIRST_YEAR + year - 1, 1, 1, 9, 0, 0)
            .single()
            .unwrap_or_default();
        for _ in 0..new {
            // Within the year: from 1 January 09:00 to before the next 1 January.
            let at = start + Days::minutes(rng.below(364 * 24 * 60) as i64);
            let region = region(rng);
            tally.learner(region, at);
            generated.push((at, region));
            rows.push(learner_pb::RegisterLearnerRequest {
                learner: Some(learner_pb::Learner {
                    email: format!("learner{n:06}@demo.academy.az"),
                    external_id: Some(format!("DEMO-{n:06}")),
                    full_name: format!("Demo Learner {n}"),
                    region: region.into(),
                    gender: genders[rng.below(5) as usize] as i32,
                    birth_year: at.year() - 18 - rng.below(40) as i32,
                    employment_status: statuses[rng.below(4) as usize] as i32,
                    organization: format!("Organisation {}", rng.below(200)),
                    ..Default::default()
                }),
                request_id: String::new(),
                registered_at: Some(timestamp(at)),
            });
            n += 1;
        }
    }
    // Streams go one after another, so their answers arrive in row order; a
    // stream sent again answers its rows once, when it is acknowledged.
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(rows.len())));
    bounded::send_and_report("learners", "created", rows, |rows| {
        let mut client = client.clone();
        let ids = ids.clone();
        async move {
            let reply = client.import_learners(rows).await?.into_inner();
            if let Ok(mut ids) = ids.lock() {
                ids.extend(reply.results.iter().map(|r| r.learner_id.clone()));
            }
            Ok(Counts {
                written: reply.created,
                duplicates: reply.duplicates,
                rejected: reply.rejected_count,
            })
        }
    })
    .await?;
    let ids = std::mem::take(
        &mut *ids
            .lock()
            .map_err(|_| anyhow::anyhow!("learner ids lost"))?,
    );
    anyhow::ensure!(
        ids.len() == generated.len(),
        "ImportLearners answered {} of {} rows",
        ids.len(),
        generated.len()
    );
    Ok(ids
        .into_iter()
        .zip(generated)
        // A rejected row (none expected) has no id and no learner.
        .filter(|(id, _)| !id.is_empty())
        .map(|(id, (at, region))| Registered {
            id,
            at,
            region: region.to_owned(),
        })
        .collect())
}

/// A registered learner as the enrollment step needs it.
pub(super) struct Registered {
    pub(super) id: String,
    pub(super) at: DateTime<Utc>,
    pub(super) region: String,
}

/// Region weights: Baku and its surroundings hold most learners.
fn region(rng: &mut Rng) -> &'static str {
    let roll = rng.below(100);
    match roll {
        0..=34 => "Baku",
        35..=44 => "Absheron-Khizi",
        45..=52 => "Ganja-Dashkasan",
        _ => Region::ALL[2 + (roll as usize % 12)],
    }
}
