//! A course service and a learner service for one test, request builders,
//! and the calls many tests make as set-up or as a check (each helper that
//! calls expects success: a failure there is the test's failure).

use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{self as course_pb, CourseLevel, CourseModule};
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_proto::events::{Event, GetHeadRequest, SubscribeRequest};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::*;
use academy_runtime::ServerConfig;
use academy_testkit::TestDb;
pub use academy_testkit::fixtures::{
    add_course_request, date, mask, program_request, skill_request,
};
pub use academy_testkit::grpc::{
    expect_code, expect_invalid, pages, retries_answer_alike, retries_succeed, violated_fields,
};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub use academy_testkit::server::TestServer as Running;

/// The learner service under test, its database, and the course service it asks.
pub struct Stack {
    pub learner: Running,
    pub course: Option<Running>,
    pub db: TestDb,
    _course_db: TestDb,
}

impl Stack {
    pub async fn start(db: TestDb) -> Self {
        Self::start_with_batch(db, 7).await
    }

    /// `batch` rows per import transaction: small, so imports span batches.
    pub async fn start_with_batch(db: TestDb, batch: usize) -> Self {
        Self::start_with(db, |settings| settings.import_batch_size = batch).await
    }

    /// Learner settings as `tweak` leaves them (7 rows per batch before).
    pub async fn start_with(
        db: TestDb,
        tweak: impl FnOnce(&mut academy_learner::LearnerSettings),
    ) -> Self {
        Self::start_configured(db, tweak, |_| {}).await
    }

    /// The learner service requires bearer tokens signed with [`SECRET`]
    /// (mint them with [`token`]); the course service takes any call.
    pub async fn start_authenticated(db: TestDb) -> Self {
        Self::start_authenticated_with(db, |_| {}).await
    }

    /// [`Stack::start_authenticated`], the learner server's configuration
    /// then as `configure` leaves it.
    pub async fn start_authenticated_with(
        db: TestDb,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        Self::start_configured(
            db,
            |_| {},
            |config| {
                config.auth = academy_runtime::auth::AuthConfig::hs256(SECRET);
                configure(config);
            },
        )
        .await
    }

    /// Learner settings as `tweak` leaves them (7 rows per batch before),
    /// and the learner server's configuration as `configure` leaves it.
    pub async fn start_configured(
        db: TestDb,
        tweak: impl FnOnce(&mut academy_learner::LearnerSettings),
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let course_db = TestDb::sqlite();
        let course = spawn(
            &course_db,
            |_| {},
            |config, listener, conn, token| async move {
                academy_course::serve(&config, listener, conn, token).await
            },
        )
        .await;
        let mut settings = academy_learner::LearnerSettings::new(format!("http://{}", course.addr));
        settings.import_batch_size = 7;
        settings.course_timeout_ms = 1000;
        tweak(&mut settings);
        let learner = spawn(
            &db,
            configure,
            move |config, listener, conn, token| async move {
                academy_learner::serve(&config, &settings, listener, conn, token).await
            },
        )
        .await;
        Self {
            learner,
            course: Some(course),
            db,
            _course_db: course_db,
        }
    }

    pub async fn learners(&self) -> LearnerServiceClient<Channel> {
        LearnerServiceClient::new(self.learner.channel().await)
    }

    pub async fn enrollments(&self) -> EnrollmentServiceClient<Channel> {
        EnrollmentServiceClient::new(self.learner.channel().await)
    }

    pub async fn feed(&self) -> EventFeedClient<Channel> {
        EventFeedClient::new(self.learner.channel().await)
    }

    pub async fn catalog(&self) -> CourseServiceClient<Channel> {
        CourseServiceClient::new(
            self.course
                .as_ref()
                .expect("course service running")
                .channel()
                .await,
        )
    }

    /// Stops the course service, as if it crashed.
    pub async fn stop_course_service(&mut self) {
        if let Some(course) = self.course.take() {
            course.stop().await;
        }
    }
}

async fn spawn<F, Fut>(db: &TestDb, configure: impl FnOnce(&mut ServerConfig), serve: F) -> Running
where
    F: FnOnce(ServerConfig, TcpListener, sea_orm::DatabaseConnection, CancellationToken) -> Fut
        + Send
        + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut config = ServerConfig::local(db.dir.path().to_owned());
    configure(&mut config);
    let conn = academy_runtime::db::connect(&db.url).await.unwrap();
    Running::start(move |listener, token| serve(config, listener, conn, token)).await
}

/// The HS256 key of [`Stack::start_authenticated`].
pub const SECRET: &str = "a-test-secret-of-at-least-32-characters!";

/// A bearer token of `subject` with `scopes`, for [`Stack::start_authenticated`].
pub fn token(subject: &str, scopes: &[&str]) -> String {
    academy_runtime::auth::mint(
        SECRET,
        "academy",
        "academy",
        subject,
        scopes,
        Duration::from_secs(600),
    )
    .unwrap()
}

/// `message` with `authorization: Bearer <token>`.
pub fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

pub const UNKNOWN_ID: &str = "01900000-0000-7000-8000-000000000000";

pub fn learner(email: &str) -> Learner {
    Learner {
        email: email.into(),
        full_name: format!("Name of {email}"),
        region: "Baku".into(),
        gender: Gender::Female as i32,
        birth_year: 1995,
        employment_status: EmploymentStatus::Employed as i32,
        organization: "ASAN Service".into(),
        ..Default::default()
    }
}

pub fn register(email: &str) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        learner: Some(learner(email)),
        request_id: String::new(),
        registered_at: None,
    }
}

/// [`register`] with a request id, as a retrying client sends it.
pub fn register_with_request_id(email: &str, request_id: &str) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        request_id: request_id.into(),
        ..register(email)
    }
}

pub async fn registered(stack: &Stack, email: &str) -> Learner {
    register_learner(stack, register(email)).await
}

/// The learner `request` registers (the call must succeed); `request` may
/// carry metadata, as [`authorized`] adds.
pub async fn register_learner(
    stack: &Stack,
    request: impl tonic::IntoRequest<RegisterLearnerRequest>,
) -> Learner {
    stack
        .learners()
        .await
        .register_learner(request)
        .await
        .unwrap()
        .into_inner()
}

pub async fn get_learner(stack: &Stack, id: &str) -> Learner {
    let request = GetLearnerRequest { id: id.into() };
    stack
        .learners()
        .await
        .get_learner(request)
        .await
        .unwrap()
        .into_inner()
}

/// A merge of `duplicate_id` into `survivor_id` under `request_id` (none
/// when empty), not a dry run.
pub fn merge_request(
    survivor_id: &str,
    duplicate_id: &str,
    request_id: &str,
) -> MergeLearnersRequest {
    MergeLearnersRequest {
        survivor_id: survivor_id.into(),
        duplicate_id: duplicate_id.into(),
        request_id: request_id.into(),
        dry_run: false,
    }
}

/// Merges `duplicate_id` into `survivor_id` (no request id, not a dry run).
pub async fn merge(stack: &Stack, survivor_id: &str, duplicate_id: &str) -> MergeLearnersResponse {
    let request = merge_request(survivor_id, duplicate_id, "");
    let mut client = stack.learners().await;
    client.merge_learners(request).await.unwrap().into_inner()
}

pub async fn erase(stack: &Stack, id: &str) -> Learner {
    let request = EraseLearnerRequest { id: id.into() };
    let mut client = stack.learners().await;
    client.erase_learner(request).await.unwrap().into_inner()
}

/// A program named `name` starting on 1 January of `year`, holding
/// `course_ids` (added in order).
pub async fn program(
    stack: &Stack,
    name: &str,
    year: i32,
    course_ids: &[&str],
) -> course_pb::Program {
    let mut catalog = stack.catalog().await;
    let request = program_request(name, date(year, 1, 1));
    let program = catalog.create_program(request).await.unwrap().into_inner();
    for course_id in course_ids {
        let request = add_course_request(&program.id, course_id);
        catalog.add_course_to_program(request).await.unwrap();
    }
    program
}

/// A course with `modules` modules and one skill, published or not.
pub async fn course(stack: &Stack, code: &str, modules: usize, publish: bool) -> course_pb::Course {
    let mut catalog = stack.catalog().await;
    let skill = catalog
        .create_skill(skill_request(&format!("Skill of {code}")))
        .await
        .unwrap()
        .into_inner();
    let created = catalog
        .create_course(course_pb::CreateCourseRequest {
            course: Some(course_pb::Course {
                code: code.into(),
                title: format!("Course {code}"),
                provider: "Coursera".into(),
                language: "az".into(),
                level: CourseLevel::Beginner as i32,
                estimated_hours: 10.0,
                skill_ids: vec![skill.id],
                modules: (0..modules)
                    .map(|i| CourseModule {
                        title: format!("Module {i}"),
                        estimated_minutes: 30,
                        ..Default::default()
                    })
                    .collect(),
                provider_course_id: Some(slug(code)),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    if !publish {
        return created;
    }
    catalog
        .publish_course(course_pb::PublishCourseRequest {
            id: created.id,
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The provider_course_id [`course`] gives the course with `code`.
pub fn slug(code: &str) -> String {
    format!("slug-{}", code.to_lowercase())
}

pub fn enroll(learner_id: &str, course_id: &str) -> EnrollRequest {
    EnrollRequest {
        learner_id: learner_id.into(),
        course_id: course_id.into(),
        ..Default::default()
    }
}

/// `learner_id` enrolled in `course_id` (the call must succeed).
pub async fn enrolled(stack: &Stack, learner_id: &str, course_id: &str) -> Enrollment {
    enroll_as(stack, enroll(learner_id, course_id)).await
}

pub async fn get_enrollment(stack: &Stack, id: &str) -> Enrollment {
    let request = GetEnrollmentRequest { id: id.into() };
    let mut client = stack.enrollments().await;
    client.get_enrollment(request).await.unwrap().into_inner()
}

/// The enrollment `request` makes (the call must succeed).
pub async fn enroll_as(stack: &Stack, request: EnrollRequest) -> Enrollment {
    let mut client = stack.enrollments().await;
    client.enroll(request).await.unwrap().into_inner()
}

/// The enrollment after `request` (the call must succeed).
pub async fn record_progress(stack: &Stack, request: RecordProgressRequest) -> Enrollment {
    let mut client = stack.enrollments().await;
    client.record_progress(request).await.unwrap().into_inner()
}

/// The first page of `learner_id`'s enrollments (of everyone's when empty).
pub async fn enrollments_of(stack: &Stack, learner_id: &str) -> Vec<Enrollment> {
    let request = ListEnrollmentsRequest {
        learner_id: learner_id.into(),
        ..Default::default()
    };
    let mut client = stack.enrollments().await;
    let page = client.list_enrollments(request).await.unwrap().into_inner();
    page.enrollments
}

/// The first page of `learner_id`'s certificates.
pub async fn certificates_of(stack: &Stack, learner_id: &str) -> Vec<Certificate> {
    let request = ListCertificatesRequest {
        learner_id: learner_id.into(),
        ..Default::default()
    };
    let mut client = stack.enrollments().await;
    let page = client
        .list_certificates(request)
        .await
        .unwrap()
        .into_inner();
    page.certificates
}

/// The rows of an ImportLearners or SyncLearners stream.
pub type Registrations = Vec<RegisterLearnerRequest>;

/// Streams `rows` to ImportLearners (the call must succeed).
pub async fn import_learners(stack: &Stack, rows: Registrations) -> ImportLearnersResponse {
    let mut client = stack.learners().await;
    let rows = tokio_stream::iter(rows);
    client.import_learners(rows).await.unwrap().into_inner()
}

/// Streams `rows` to BulkEnroll (the call must succeed).
pub async fn bulk_enroll(stack: &Stack, rows: Vec<EnrollRequest>) -> BulkEnrollResponse {
    let mut client = stack.enrollments().await;
    let rows = tokio_stream::iter(rows);
    client.bulk_enroll(rows).await.unwrap().into_inner()
}

/// The rows `sql` selects from the learner service's own database.
pub async fn sql_rows(stack: &Stack, sql: &str) -> Vec<sea_orm::QueryResult> {
    use sea_orm::ConnectionTrait;
    let conn = academy_runtime::db::connect(&stack.db.url).await.unwrap();
    let statement = sea_orm::Statement::from_string(conn.get_database_backend(), sql);
    conn.query_all_raw(statement).await.unwrap()
}

/// The row indexes a stream's answer rejected, in order.
pub fn rejected_indexes(rejected: &[RejectedRow]) -> Vec<i64> {
    rejected.iter().map(|r| r.index).collect()
}

/// (index, field) of each row a stream's answer rejected, in order.
pub fn rejected_fields(rejected: &[RejectedRow]) -> Vec<(i64, &str)> {
    rejected
        .iter()
        .map(|r| (r.index, r.field.as_str()))
        .collect()
}

/// Streams `rows` to SyncLearners (the call must succeed).
pub async fn sync_learners(stack: &Stack, rows: Registrations) -> ImportLearnersResponse {
    let mut client = stack.learners().await;
    let rows = tokio_stream::iter(rows);
    client.sync_learners(rows).await.unwrap().into_inner()
}

/// The sequence of the newest event in the learner feed.
pub async fn feed_head(stack: &Stack) -> i64 {
    let mut feed = stack.feed().await;
    let head = feed.get_head(GetHeadRequest {}).await.unwrap().into_inner();
    head.head_sequence
}

/// Every event of the learner feed so far.
pub async fn all_events(stack: &Stack) -> Vec<Event> {
    let head = feed_head(stack).await;
    first_events(stack, head as usize).await
}

/// The first `n` events of the learner feed, waiting up to ten seconds for
/// each.
pub async fn first_events(stack: &Stack, n: usize) -> Vec<Event> {
    use tokio_stream::StreamExt;
    let mut stream = stack
        .feed()
        .await
        .subscribe(SubscribeRequest { after_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while events.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        events.push(event);
    }
    events
}

pub fn progress(enrollment_id: &str, module_id: &str, minutes: i32) -> RecordProgressRequest {
    RecordProgressRequest {
        enrollment_id: enrollment_id.into(),
        module_id: module_id.into(),
        minutes_spent: minutes,
        ..Default::default()
    }
}

/// Every learner, through paging.
pub async fn all_learners(stack: &Stack) -> Vec<Learner> {
    let client = stack.learners().await;
    let pages = pages(|page_token| {
        let mut client = client.clone();
        async move {
            let request = ListLearnersRequest {
                page_size: 1000,
                page_token,
                ..Default::default()
            };
            let page = client.list_learners(request).await.unwrap().into_inner();
            (page.learners, page.next_page_token)
        }
    })
    .await;
    pages.concat()
}
