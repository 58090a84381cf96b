//! The demo national program, loaded through the public gRPC API: a
//! catalog of 40 courses over 15 digital skills, learners growing from 400
//! in the first year to the full size after twelve years across the 14
//! economic regions, with enrollments, progress and completions. Seeded:
//! two runs give the same data.

use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academyctl::client::{Bearer, connect};
use chrono::{DateTime, NaiveDate, Utc};
use prost_types::Timestamp;
use std::collections::HashMap;
use std::time::Instant;

mod activity;
mod catalog;
pub(crate) mod check;
mod feeds;
mod learners;
mod progress;
mod streams;
pub(crate) mod tally;

pub(crate) const FIRST_YEAR: i32 = 2014;
pub(crate) const YEARS: i32 = 12;
const SEED: u64 = 2014_0901;

pub(crate) const SKILLS: [&str; 15] = [
    "Data analysis",
    "Cybersecurity",
    "Cloud computing",
    "Artificial intelligence",
    "Project management",
    "Software development",
    "Digital marketing",
    "UX design",
    "Networking",
    "Database administration",
    "DevOps",
    "E-commerce",
    "Digital literacy",
    "Business analytics",
    "Mobile development",
];

/// A seeded xorshift64* generator: same seed, same program.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Learners registered by the end of year `k` (1-based): 400 after the first
/// year, `total` after the last, growing by the same factor every year.
pub(crate) fn cumulative(k: i32, total: u64) -> u64 {
    let growth = (total.max(400) as f64 / 400.0).powf(1.0 / f64::from(YEARS - 1));
    if k >= YEARS {
        total.max(400)
    } else {
        (400.0 * growth.powi(k - 1)).round() as u64
    }
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// The half year whose report the stack prints and checks: the last of the
/// program's twelve years.
pub(crate) fn reported_half() -> (String, NaiveDate, NaiveDate) {
    let year = FIRST_YEAR + YEARS - 1;
    let day = |m, d| NaiveDate::from_ymd_opt(year, m, d).unwrap_or_default();
    (format!("{year}-H2"), day(7, 1), day(12, 31))
}

/// Loads the program through the three services' public APIs and waits
/// until reporting has applied it; returns the figures the reported half
/// must show.
pub(crate) async fn load(
    course: &str,
    learner: &str,
    reporting: &str,
    learners: u64,
    bearer: &Bearer,
) -> anyhow::Result<tally::Expected> {
    let started = Instant::now();
    let mut rng = Rng::new(SEED);
    let (half, first, last) = reported_half();
    let mut tally = tally::Tally::new(&half, first, last);
    let (courses, program) = catalog::catalog(
        CourseServiceClient::new(connect(course, bearer).await?),
        &mut rng,
    )
    .await?;
    let channel = connect(learner, bearer).await?;
    let registered = learners::import_learners(
        LearnerServiceClient::new(channel.clone()),
        &mut rng,
        learners,
        &mut tally,
    )
    .await?;
    activity::enroll(
        EnrollmentServiceClient::new(channel.clone()),
        &mut rng,
        &registered,
        &courses,
        &program,
        &mut tally,
    )
    .await?;
    let regions: HashMap<String, String> =
        registered.into_iter().map(|l| (l.id, l.region)).collect();
    activity::progress(
        EnrollmentServiceClient::new(channel),
        &mut rng,
        &courses,
        &regions,
        &mut tally,
    )
    .await?;
    feeds::wait_until_applied(reporting, bearer).await?;
    println!(
        "demo program loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(tally.finish())
}
