//! What the tests create over gRPC again and again (courses, programs,
//! learners, enrollments, bearer tokens) and what they read back (feed
//! status, CSV exports, `academyctl` output).

use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{
    Course, CourseLevel, CourseModule, CreateCourseRequest, CreateProgramRequest, Program,
    PublishCourseRequest,
};
use academy_proto::google::r#type::Date;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EmploymentStatus, EnrollRequest, Enrollment, Gender, ImportLearnersResponse, Learner,
    RegisterLearnerRequest,
};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    ExportReportResponse, FeedSource, GetFeedStatusRequest, GetProgramSummaryRequest, Period,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};

/// `message` with `token` as its bearer credential.
pub fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// `message` with `token` as its bearer credential when there is one.
pub fn authed<T>(message: T, token: Option<&str>) -> Request<T> {
    match token {
        Some(token) => bearer(message, token),
        None => Request::new(message),
    }
}

/// The HS256 token the services accept with `secret`, for `subject` with
/// `scopes`, valid for ten minutes.
pub fn token(secret: &str, subject: &str, scopes: &[&str]) -> String {
    academy_runtime::auth::mint(
        secret,
        "academy",
        "academy",
        subject,
        scopes,
        Duration::from_secs(600),
    )
    .unwrap()
}

/// A course to create: `code`, titled "Course <code>", with `modules`
/// modules of 30 minutes.
pub fn course(code: &str, modules: usize) -> Course {
    Course {
        code: code.into(),
        title: format!("Course {code}"),
        provider: "Coursera".into(),
        language: "az".into(),
        level: CourseLevel::Beginner as i32,
        estimated_hours: 3.0,
        modules: (0..modules)
            .map(|m| CourseModule {
                title: format!("Module {m}"),
                estimated_minutes: 30,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Creates and publishes `course` on the course service behind `channel`,
/// as the bearer of `token` when given; the created course.
pub async fn publish(channel: Channel, token: Option<&str>, course: Course) -> Course {
    let mut client = CourseServiceClient::new(channel);
    let created = client
        .create_course(authed(
            CreateCourseRequest {
                course: Some(course),
                request_id: String::new(),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner();
    client
        .publish_course(authed(
            PublishCourseRequest {
                id: created.id.clone(),
                etag: String::new(),
            },
            token,
        ))
        .await
        .unwrap();
    created
}

/// Creates and publishes a course with `modules` modules on the course
/// service behind `channel`: (course id, module ids).
pub async fn published_course(
    channel: Channel,
    code: &str,
    modules: usize,
) -> (String, Vec<String>) {
    let created = publish(channel, None, course(code, modules)).await;
    let modules = created.modules.iter().map(|m| m.id.clone()).collect();
    (created.id, modules)
}

/// A program to create, starting on 1 January of `year`.
pub fn program(name: &str, year: i32) -> Program {
    Program {
        name: name.into(),
        start_date: Some(Date {
            year,
            month: 1,
            day: 1,
        }),
        ..Default::default()
    }
}

/// Creates `program` on the course service behind `channel`, as the bearer
/// of `token` when given; its id.
pub async fn create_program(channel: Channel, token: Option<&str>, program: Program) -> String {
    CourseServiceClient::new(channel)
        .create_program(authed(
            CreateProgramRequest {
                program: Some(program),
                request_id: String::new(),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .id
}

/// A valid learner: `email`, `full_name`, in Baku, a woman born in 1990 and
/// employed (set other fields with `..learner(..)`).
pub fn learner(email: &str, full_name: &str) -> Learner {
    Learner {
        email: email.into(),
        full_name: full_name.into(),
        region: "Baku".into(),
        gender: Gender::Female as i32,
        birth_year: 1990,
        employment_status: EmploymentStatus::Employed as i32,
        ..Default::default()
    }
}

/// A registration of `learner` with no request id and no business time.
pub fn registration(learner: Learner) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        learner: Some(learner),
        request_id: String::new(),
        registered_at: None,
    }
}

/// Registers `learner` on the learner service behind `channel`, as the
/// bearer of `token` when given; the stored learner.
pub async fn register(channel: Channel, token: Option<&str>, learner: Learner) -> Learner {
    LearnerServiceClient::new(channel)
        .register_learner(authed(registration(learner), token))
        .await
        .unwrap()
        .into_inner()
}

/// Imports `rows` in one `ImportLearners` stream on the learner service
/// behind `channel`; the service's counts.
pub async fn import_learners<I>(channel: Channel, rows: I) -> ImportLearnersResponse
where
    I: IntoIterator<Item = RegisterLearnerRequest>,
    I::IntoIter: Send + 'static,
{
    LearnerServiceClient::new(channel)
        .import_learners(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner()
}

/// Enrolls `learner_id` in `course_id` on the learner service behind
/// `channel`, as the bearer of `token` when given.
pub async fn enroll(
    channel: Channel,
    token: Option<&str>,
    learner_id: &str,
    course_id: &str,
) -> Result<Enrollment, Status> {
    EnrollmentServiceClient::new(channel)
        .enroll(authed(
            EnrollRequest {
                learner_id: learner_id.into(),
                course_id: course_id.into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// The feeds reporting follows, as it reports them, or `None` if it does
/// not answer.
pub async fn feed_sources(channel: Channel, token: Option<&str>) -> Option<Vec<FeedSource>> {
    let status = ReportingServiceClient::new(channel)
        .get_feed_status(authed(GetFeedStatusRequest {}, token))
        .await
        .ok()?;
    Some(status.into_inner().sources)
}

/// Polls reporting's feed status every 100 ms until `done` holds for it,
/// and returns it; panics after `limit` with `what` and the last status
/// seen (a refused status call counts as not done).
pub async fn wait_for_feeds(
    channel: Channel,
    token: Option<&str>,
    limit: Duration,
    what: &str,
    done: impl Fn(&[FeedSource]) -> bool,
) -> Vec<FeedSource> {
    let deadline = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(sources) = feed_sources(channel.clone(), token).await {
            if done(&sources) {
                return sources;
            }
            last = Some(sources);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: last feed status {last:?}");
}

/// One feed of `sources` by its producer (`course`, `learner`).
pub fn source<'a>(sources: &'a [FeedSource], service: &str) -> Option<&'a FeedSource> {
    sources.iter().find(|s| s.service == service)
}

/// A summary request over the half-year `half` (`2025-H1`), of the whole
/// platform when `program_id` is empty.
pub fn summary_of_half(program_id: &str, half: &str) -> GetProgramSummaryRequest {
    GetProgramSummaryRequest {
        program_id: program_id.into(),
        period: Some(Period {
            half: half.into(),
            ..Default::default()
        }),
    }
}

/// The whole CSV of an `ExportReport` stream.
pub async fn export_csv(mut stream: Streaming<ExportReportResponse>) -> String {
    let mut csv = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        csv.extend(chunk.csv_chunk);
    }
    String::from_utf8(csv).unwrap()
}

/// A file of the provider samples in `tests/data/provider`.
pub fn provider_sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/provider")
        .join(name)
}

/// Runs the real `academyctl` with `args` and `envs`: (exit code, stdout,
/// stderr).
pub async fn academyctl(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let output = tokio::process::Command::new(crate::binary("academyctl"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .await
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `academyctl` like [`academyctl`], and asserts it exits 0 with
/// `expected` in its stdout: (stdout, stderr).
pub async fn academyctl_ok(
    args: &[&str],
    envs: &[(&str, &str)],
    expected: &str,
) -> (String, String) {
    let (code, stdout, stderr) = academyctl(args, envs).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains(expected), "{stdout}");
    (stdout, stderr)
}
