//! The demo national program, loaded through the public gRPC API: a
//! catalog of 40 courses over 15 digital skills, learners growing from 400
//! in the first year to the full size after twelve years across the 14
//! economic regions, with enrollments, progress and completions. Seeded:
//! two runs give the same data.

use academy_domain::Region;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{self as course_pb, CourseLevel, CourseModule};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{self as learner_pb, EmploymentStatus, Gender};
use academy_proto::reporting::GetFeedStatusRequest;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use chrono::{DateTime, Datelike, Duration as Days, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use prost_types::Timestamp;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

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

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

pub(crate) async fn load(
    course: &str,
    learner: &str,
    reporting: &str,
    learners: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut rng = Rng::new(SEED);
    let (courses, program) = catalog(
        Channel::from_shared(course.to_owned())?.connect().await?,
        &mut rng,
    )
    .await?;
    let channel = Channel::from_shared(learner.to_owned())?.connect().await?;
    import_learners(
        LearnerServiceClient::new(channel.clone()),
        &mut rng,
        learners,
    )
    .await?;
    let registered = list_learners(LearnerServiceClient::new(channel.clone())).await?;
    enroll(
        EnrollmentServiceClient::new(channel.clone()),
        &mut rng,
        &registered,
        &courses,
        &program,
    )
    .await?;
    progress(EnrollmentServiceClient::new(channel), &mut rng, &courses).await?;
    wait_for_reports(reporting).await?;
    println!(
        "demo program loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Creates and publishes the catalog; returns course id → module ids, and the program id.
async fn catalog(
    channel: Channel,
    rng: &mut Rng,
) -> anyhow::Result<(HashMap<String, Vec<String>>, String)> {
    let mut client = CourseServiceClient::new(channel);
    let mut skill_ids = Vec::new();
    for (i, name) in SKILLS.iter().enumerate() {
        let skill = client
            .create_skill(course_pb::CreateSkillRequest {
                skill: Some(course_pb::Skill {
                    name: (*name).into(),
                    category: "Digital skills".into(),
                    ..Default::default()
                }),
                request_id: format!("demo-skill-{i}"),
            })
            .await?
            .into_inner();
        skill_ids.push(skill.id);
    }
    let program = client
        .create_program(course_pb::CreateProgramRequest {
            program: Some(course_pb::Program {
                name: "C4IR Academy National Program".into(),
                description: "National digital-skills upskilling initiative".into(),
                start_date: Some(academy_proto::google::r#type::Date {
                    year: FIRST_YEAR,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
            request_id: "demo-program".into(),
        })
        .await?
        .into_inner();
    let levels = [
        CourseLevel::Beginner,
        CourseLevel::Intermediate,
        CourseLevel::Advanced,
    ];
    let mut courses = HashMap::new();
    for i in 0..40usize {
        let skill = i % SKILLS.len();
        let level = levels[i / SKILLS.len() % 3];
        let modules = 3 + rng.below(4) as usize;
        let mut course_skills = vec![skill_ids[skill].clone()];
        if i % 3 == 0 {
            course_skills.push(skill_ids[(skill + 1) % SKILLS.len()].clone());
        }
        let created = client
            .create_course(course_pb::CreateCourseRequest {
                course: Some(course_pb::Course {
                    code: format!("{}-{}", initials(SKILLS[skill]), 101 + i),
                    title: format!(
                        "{} {}",
                        SKILLS[skill],
                        ["essentials", "in practice", "advanced"][i / SKILLS.len() % 3]
                    ),
                    description: format!("{} for the national program", SKILLS[skill]),
                    provider: ["Coursera", "edX", "Udacity", "ADA University"][i % 4].into(),
                    language: if i % 2 == 0 { "az" } else { "en" }.into(),
                    level: level as i32,
                    estimated_hours: (modules * 3) as f64,
                    skill_ids: course_skills,
                    modules: (0..modules)
                        .map(|m| CourseModule {
                            title: format!("Module {}", m + 1),
                            estimated_minutes: 60 + 15 * m as i32,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
                request_id: format!("demo-course-{i}"),
            })
            .await?
            .into_inner();
        let published = if created.state == course_pb::CourseState::Published as i32 {
            created
        } else {
            client
                .publish_course(course_pb::PublishCourseRequest {
                    id: created.id,
                    etag: String::new(),
                })
                .await?
                .into_inner()
        };
        client
            .add_course_to_program(course_pb::AddCourseToProgramRequest {
                program_id: program.id.clone(),
                course_id: published.id.clone(),
            })
            .await?;
        courses.insert(
            published.id,
            published.modules.into_iter().map(|m| m.id).collect(),
        );
    }
    Ok((courses, program.id))
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect::<String>()
        .to_uppercase()
}

/// The generated learners in registration order, streamed (not held) into ImportLearners.
async fn import_learners(
    mut client: LearnerServiceClient<Channel>,
    rng: &mut Rng,
    total: u64,
) -> anyhow::Result<()> {
    let total = total.max(400);
    let bar = bar(total, "learners");
    let mut rows = Vec::with_capacity(total as usize);
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
            rows.push(learner_pb::RegisterLearnerRequest {
                learner: Some(learner_pb::Learner {
                    email: format!("learner{n:06}@demo.academy.az"),
                    external_id: Some(format!("DEMO-{n:06}")),
                    full_name: format!("Demo Learner {n}"),
                    region: region(rng).into(),
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
    let progress = bar.clone();
    let stream = tokio_stream::iter(rows.into_iter().inspect(move |_| progress.inc(1)));
    let reply = client.import_learners(stream).await?.into_inner();
    bar.finish();
    println!(
        "  learners: {} created, {} already there, {} rejected",
        reply.created,
        reply.duplicates,
        reply.rejected.len()
    );
    Ok(())
}

/// Every learner id with its registration time.
async fn list_learners(
    mut client: LearnerServiceClient<Channel>,
) -> anyhow::Result<Vec<(String, DateTime<Utc>)>> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_learners(learner_pb::ListLearnersRequest {
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await?
            .into_inner();
        for l in page.learners {
            let at = l
                .register_time
                .and_then(|t| Utc.timestamp_opt(t.seconds, 0).single())
                .unwrap_or_default();
            all.push((l.id, at));
        }
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        token = page.next_page_token;
    }
}

async fn enroll(
    mut client: EnrollmentServiceClient<Channel>,
    rng: &mut Rng,
    learners: &[(String, DateTime<Utc>)],
    courses: &HashMap<String, Vec<String>>,
    program: &str,
) -> anyhow::Result<()> {
    let mut course_ids: Vec<&String> = courses.keys().collect();
    course_ids.sort();
    let now = Utc::now() - Days::days(1);
    let mut rows = Vec::new();
    for (id, registered) in learners {
        // Most learners take one course, some two or three, a few none yet.
        let count = [0, 1, 1, 1, 2, 2, 3][rng.below(7) as usize];
        let first = rng.below(course_ids.len() as u64) as usize;
        for c in 0..count {
            let at = (*registered + Days::days(rng.below(60) as i64)).min(now);
            rows.push(learner_pb::EnrollRequest {
                learner_id: id.clone(),
                course_id: course_ids[(first + c * 7) % course_ids.len()].clone(),
                program_id: program.to_owned(),
                request_id: String::new(),
                enrolled_at: Some(timestamp(at.max(*registered))),
            });
        }
    }
    let bar = bar(rows.len() as u64, "enrollments");
    let progress = bar.clone();
    let reply = client
        .bulk_enroll(tokio_stream::iter(
            rows.into_iter().inspect(move |_| progress.inc(1)),
        ))
        .await?
        .into_inner();
    bar.finish();
    println!(
        "  enrollments: {} created, {} already there, {} rejected",
        reply.created,
        reply.duplicates,
        reply.rejected.len()
    );
    Ok(())
}

/// Progress on most enrollments; about half complete their course.
async fn progress(
    mut client: EnrollmentServiceClient<Channel>,
    rng: &mut Rng,
    courses: &HashMap<String, Vec<String>>,
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
            if !e.completed_module_ids.is_empty() {
                continue; // loaded by an earlier run
            }
            let done = match rng.below(10) {
                0..=2 => 0,
                3..=5 => 1 + rng.below(modules.len() as u64 - 1) as usize,
                _ => modules.len(),
            };
            let mut at = e
                .enroll_time
                .and_then(|t| Utc.timestamp_opt(t.seconds, 0).single())
                .unwrap_or(now);
            for module in &modules[..done] {
                at = (at + Days::days(1 + rng.below(20) as i64)).min(now);
                calls.push(learner_pb::RecordProgressRequest {
                    enrollment_id: e.id.clone(),
                    module_id: module.clone(),
                    minutes_spent: 20 + rng.below(100) as i32,
                    occurred_at: Some(timestamp(at)),
                    request_id: format!("demo-{}-{}", e.id, module),
                });
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let bar = bar(calls.len() as u64, "progress");
    let counted = bar.clone();
    let reply = client
        .bulk_record_progress(tokio_stream::iter(
            calls.into_iter().inspect(move |_| counted.inc(1)),
        ))
        .await?
        .into_inner();
    bar.finish();
    println!(
        "  progress: {} recorded, {} already there, {} rejected",
        reply.recorded,
        reply.duplicates,
        reply.rejected.len()
    );
    Ok(())
}

/// Waits until reporting has applied both feeds.
async fn wait_for_reports(reporting: &str) -> anyhow::Result<()> {
    let mut client = ReportingServiceClient::new(
        Channel::from_shared(reporting.to_owned())?
            .connect()
            .await?,
    );
    let bar = ProgressBar::new_spinner();
    bar.set_message("reporting catches up");
    loop {
        let status = client
            .get_feed_status(GetFeedStatusRequest {})
            .await?
            .into_inner();
        let (applied, head): (i64, i64) = status.sources.iter().fold((0, 0), |(a, h), s| {
            (a + s.applied_sequence, h + s.head_sequence)
        });
        bar.set_message(format!("reporting catches up: {applied}/{head} events"));
        bar.tick();
        if head > 0 && applied == head && status.sources.len() == 2 {
            // The head is refreshed every two seconds: confirm nothing moved.
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let again = client
                .get_feed_status(GetFeedStatusRequest {})
                .await?
                .into_inner();
            let (a2, h2): (i64, i64) = again.sources.iter().fold((0, 0), |(a, h), s| {
                (a + s.applied_sequence, h + s.head_sequence)
            });
            if (a2, h2) == (applied, head) {
                bar.finish();
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
