//! What every reliability case shares: services that can be killed and
//! brought back on the same address, a TCP proxy that can cut PostgreSQL
//! off, clients that retry with the same request id, and SQL counts over
//! the services' own databases to check the results against.

use academy_e2e::{ServiceProcess, StackEnv};
pub(crate) use academy_e2e::{lazy_channel, wait_for};
use academy_proto::events::GetHeadRequest;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_proto::learner::{EmploymentStatus, Learner, RegisterLearnerRequest};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    GetFeedStatusRequest, GetProgramSummaryRequest, Period, ProgramSummary,
};
use academy_testkit::TestDb;
use prost_types::Timestamp;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Mutex, MutexGuard, watch};
use tonic::{Code, Status};

/// The cases run one at a time: each measures timings (fail fast, drain
/// within the grace period, lag back to zero) that would say more about the
/// other cases' load than about the service if they shared two cores.
static SERIAL: Mutex<()> = Mutex::const_new(());

pub(crate) async fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// A fresh PostgreSQL database; with `ACADEMY_REQUIRE_POSTGRES=1` an
/// unreachable server fails the case instead of skipping it.
pub(crate) async fn postgres() -> Option<TestDb> {
    TestDb::postgres().await
}

/// Business times of the suite's writes: inside 2025-H1, so one summary
/// over that half counts every one of them.
pub(crate) const PERIOD: &str = "2025-H1";
/// 2025-02-01T00:00:00Z.
const T0: i64 = 1_738_368_000;

pub(crate) fn at(offset_secs: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: T0 + offset_secs,
        nanos: 0,
    })
}

/// Log level of the services under test (`ACADEMY_RELIABILITY_LOG`,
/// default `error` so a cut database does not flood the CI log).
fn service_log() -> String {
    std::env::var("ACADEMY_RELIABILITY_LOG").unwrap_or_else(|_| "error".into())
}

/// A service binary of the suite: it can be killed and started again on
/// the same address with the same settings ([`ServiceProcess::restart`]).
pub(crate) type Svc = ServiceProcess;

/// Starts `binary` with `env`, logging at the suite's level unless `env`
/// sets `ACADEMY_LOG`.
pub(crate) async fn start_service(binary: &str, env: &[(&str, &str)]) -> Svc {
    let log = service_log();
    ServiceProcess::start(binary, &[&[("ACADEMY_LOG", log.as_str())], env].concat()).await
}

/// Resident memory of the running process, in KiB.
pub(crate) fn rss_kib(service: &Svc) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", service.pid())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// Course, learner and reporting on PostgreSQL, each with its own database.
pub(crate) struct Stack {
    pub(crate) course: Svc,
    pub(crate) learner: Svc,
    pub(crate) reporting: Svc,
    /// Held so the databases are dropped with the stack, not before.
    _course_db: TestDb,
    pub(crate) learner_db: TestDb,
    pub(crate) reporting_db: TestDb,
    /// Between reporting and the course service's feed, when asked for.
    pub(crate) course_proxy: Option<Proxy>,
}

impl Stack {
    /// `learner_env` is added to the learner's settings (and overrides them).
    pub(crate) async fn start(learner_env: &[(&str, &str)]) -> Option<Self> {
        Self::start_with(None, learner_env, false).await
    }

    /// The three services on the embedded SQLite default, each file in a
    /// directory that outlives restarts.
    pub(crate) async fn sqlite() -> Self {
        Self::launch(
            [TestDb::sqlite(), TestDb::sqlite(), TestDb::sqlite()],
            None,
            &[],
            false,
        )
        .await
    }

    /// With `db_proxy`, every service reaches PostgreSQL through it; with
    /// `proxy_course_feed`, reporting follows the course feed through a
    /// [`Proxy`] of its own (which counts its connection attempts).
    pub(crate) async fn start_with(
        db_proxy: Option<&Proxy>,
        learner_env: &[(&str, &str)],
        proxy_course_feed: bool,
    ) -> Option<Self> {
        let dbs = [postgres().await?, postgres().await?, postgres().await?];
        Some(Self::launch(dbs, db_proxy, learner_env, proxy_course_feed).await)
    }

    async fn launch(
        [course_db, learner_db, reporting_db]: [TestDb; 3],
        db_proxy: Option<&Proxy>,
        learner_env: &[(&str, &str)],
        proxy_course_feed: bool,
    ) -> Self {
        let url = |db: &TestDb| match db_proxy {
            Some(proxy) => proxy.url(&db.url),
            None => db.url.clone(),
        };
        let (course_db_url, learner_db_url, reporting_db_url) =
            (url(&course_db), url(&learner_db), url(&reporting_db));
        let log = service_log();
        let learner_settings = [
            ("ACADEMY_DATABASE_URL", learner_db_url.as_str()),
            // The default (3 s) is tight on a loaded 2-core machine; a dead
            // course service is refused at once whatever this says.
            ("ACADEMY_COURSE_TIMEOUT_MS", "5000"),
        ];
        let env = StackEnv {
            common: &[("ACADEMY_LOG", log.as_str())],
            course: &[("ACADEMY_DATABASE_URL", &course_db_url)],
            learner: &[&learner_settings[..], learner_env].concat(),
            ..Default::default()
        };
        let (course, learner) = env.start_course_and_learner().await;
        let course_proxy = if proxy_course_feed {
            Some(Proxy::start(course.addr).await)
        } else {
            None
        };
        let feed_url = match &course_proxy {
            Some(proxy) => format!("http://127.0.0.1:{}", proxy.port),
            None => course.endpoint(),
        };
        let reporting = StackEnv {
            reporting: &[
                ("ACADEMY_DATABASE_URL", &reporting_db_url),
                ("ACADEMY_COURSE_ENDPOINT", &feed_url),
            ],
            ..env
        }
        .start_reporting(&course, &learner)
        .await;
        Self {
            course,
            learner,
            reporting,
            _course_db: course_db,
            learner_db,
            reporting_db,
            course_proxy,
        }
    }
}

/// A published course with `modules` modules: (course id, module ids).
pub(crate) async fn published_course(
    course: &Svc,
    code: &str,
    modules: usize,
) -> (String, Vec<String>) {
    academy_e2e::published_course(course.lazy_channel(Duration::from_secs(10)), code, modules).await
}

/// A valid registration; `key` makes the email (and request id) unique.
pub(crate) fn registration(key: &str, offset_secs: i64) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        learner: Some(Learner {
            region: "Mil-Mugan".into(),
            birth_year: 1995,
            employment_status: EmploymentStatus::Student as i32,
            ..academy_e2e::learner(&format!("{key}@example.az"), &format!("Learner {key}"))
        }),
        request_id: format!("reg-{key}"),
        registered_at: at(offset_secs),
    }
}

/// Counts of call outcomes by status code, shared by a load's workers.
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    counts: std::sync::Mutex<BTreeMap<String, u64>>,
    ok: AtomicU64,
    /// The first message seen per `call:code`.
    examples: std::sync::Mutex<BTreeMap<String, String>>,
    /// Longest time a failed call took, in milliseconds.
    slowest_failure_ms: AtomicU64,
}

impl Outcomes {
    pub(crate) fn ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed_after(&self, call: &str, status: &Status, took: Duration) {
        self.slowest_failure_ms
            .fetch_max(took.as_millis() as u64, Ordering::Relaxed);
        self.failed(call, status);
    }

    pub(crate) fn slowest_failure(&self) -> Duration {
        Duration::from_millis(self.slowest_failure_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn failed(&self, call: &str, status: &Status) {
        // A status with a source was made by the client's own transport
        // (the call may never have reached the server), not sent by it.
        let origin = if std::error::Error::source(status).is_some() {
            " (client transport)"
        } else {
            ""
        };
        let key = format!("{call}:{:?}{origin}", status.code());
        *self.counts.lock().unwrap().entry(key.clone()).or_default() += 1;
        self.examples
            .lock()
            .unwrap()
            .entry(key)
            .or_insert_with(|| status.message().to_owned());
    }

    pub(crate) fn oks(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Failures by `call:code`.
    pub(crate) fn failures(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap().clone()
    }

    /// The first message of each kind of failure.
    pub(crate) fn examples(&self) -> BTreeMap<String, String> {
        self.examples.lock().unwrap().clone()
    }

    /// Failures the server itself sent (not made up by the client's
    /// transport) whose code is not one of `allowed`.
    pub(crate) fn unexpected_from_server(&self, allowed: &[Code]) -> BTreeMap<String, u64> {
        self.unexpected(allowed)
            .into_iter()
            .filter(|(key, _)| !key.ends_with("(client transport)"))
            .collect()
    }

    /// Failures whose code is not one of `allowed`.
    pub(crate) fn unexpected(&self, allowed: &[Code]) -> BTreeMap<String, u64> {
        self.failures()
            .into_iter()
            .filter(|(key, _)| {
                !allowed
                    .iter()
                    .any(|code| key.contains(&format!(":{code:?}")))
            })
            .collect()
    }
}

/// Codes a client may retry with the same request id: the service (or the
/// connection to it) went away, or the call was cut off.
pub(crate) const RETRYABLE: &[Code] = &[Code::Unavailable, Code::Cancelled, Code::Unknown];

/// Calls `call` until it succeeds, retrying the codes in [`RETRYABLE`]
/// after a short pause; any other failure is returned. Every failure is
/// counted in `outcomes`.
pub(crate) async fn retry<T, F, Fut>(
    name: &str,
    outcomes: &Outcomes,
    limit: Duration,
    call: F,
) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    retry_on(RETRYABLE, name, outcomes, limit, call).await
}

/// Like [`retry`], retrying the codes in `retryable`.
pub(crate) async fn retry_on<T, F, Fut>(
    retryable: &[Code],
    name: &str,
    outcomes: &Outcomes,
    limit: Duration,
    mut call: F,
) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let attempt = Instant::now();
        match call().await {
            Ok(reply) => {
                outcomes.ok();
                return Ok(reply.into_inner());
            }
            Err(status) => {
                outcomes.failed_after(name, &status, attempt.elapsed());
                if !retryable.contains(&status.code()) || Instant::now() > deadline {
                    return Err(status);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The producer's newest sequence, asked of the producer itself.
pub(crate) async fn head(producer: &Svc) -> Option<i64> {
    EventFeedClient::new(producer.lazy_channel(Duration::from_secs(5)))
        .get_head(GetHeadRequest {})
        .await
        .ok()
        .map(|r| r.into_inner().head_sequence)
}

/// Applied sequence per followed source, as reporting tells it.
pub(crate) async fn applied(reporting: &Svc) -> Option<BTreeMap<String, i64>> {
    let channel = reporting.lazy_channel(Duration::from_secs(5));
    let status = ReportingServiceClient::new(channel)
        .get_feed_status(GetFeedStatusRequest {})
        .await
        .ok()?
        .into_inner();
    Some(
        status
            .sources
            .into_iter()
            .map(|s| (s.service, s.applied_sequence))
            .collect(),
    )
}

/// Waits until reporting has applied everything both producers hold;
/// returns how long that took.
pub(crate) async fn caught_up(stack: &Stack, limit: Duration) -> Option<Duration> {
    caught_up_on(stack, &stack.reporting, limit).await
}

/// Waits until `reporting` (one of several replicas) has applied both heads.
pub(crate) async fn caught_up_on(
    stack: &Stack,
    reporting: &Svc,
    limit: Duration,
) -> Option<Duration> {
    let course_head = head(&stack.course).await?;
    let learner_head = head(&stack.learner).await?;
    wait_for(limit, || async {
        applied(reporting).await.is_some_and(|a| {
            a.get("course") == Some(&course_head) && a.get("learner") == Some(&learner_head)
        })
    })
    .await
}

pub(crate) fn summary_request() -> GetProgramSummaryRequest {
    GetProgramSummaryRequest {
        program_id: String::new(),
        period: Some(Period {
            half: PERIOD.into(),
            ..Default::default()
        }),
    }
}

pub(crate) async fn summary(reporting: &Svc) -> ProgramSummary {
    ReportingServiceClient::new(reporting.lazy_channel(Duration::from_secs(10)))
        .get_program_summary(summary_request())
        .await
        .unwrap()
        .into_inner()
}

/// A SQL connection to one service's database, for counting what it holds.
pub(crate) struct Sql(DatabaseConnection);

impl Sql {
    pub(crate) async fn open(url: &str) -> Self {
        Self(Database::connect(url).await.unwrap())
    }

    /// The single integer `sql` selects (as `n`).
    pub(crate) async fn int(&self, sql: &str) -> i64 {
        let backend = self.0.get_database_backend();
        let row = self
            .0
            .query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    pub(crate) async fn count(&self, table: &str) -> i64 {
        self.int(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .await
    }

    /// Feed events by type.
    pub(crate) async fn events(&self) -> BTreeMap<String, i64> {
        let backend = self.0.get_database_backend();
        let rows = self
            .0
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT event_type, COUNT(*) AS n FROM feed_events GROUP BY event_type".to_owned(),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|row| {
                (
                    row.try_get::<String>("", "event_type").unwrap(),
                    row.try_get::<i64>("", "n").unwrap(),
                )
            })
            .collect()
    }

    /// The strings `sql` selects (as `s`).
    pub(crate) async fn strings(&self, sql: &str) -> Vec<String> {
        let backend = self.0.get_database_backend();
        let rows = self
            .0
            .query_all_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .unwrap();
        rows.iter()
            .map(|row| row.try_get::<String>("", "s").unwrap())
            .collect()
    }
}

/// Source figures of the learner service's data, as the reporting summary
/// of [`PERIOD`] must give them once it has caught up.
#[derive(Debug, PartialEq)]
pub(crate) struct Figures {
    pub(crate) learners: i64,
    pub(crate) enrollments: i64,
    pub(crate) completions: i64,
    pub(crate) certificates: i64,
    pub(crate) active_learners: i64,
    pub(crate) progress_minutes: i64,
}

impl Figures {
    pub(crate) async fn of_source(learner_db: &Sql) -> Self {
        Self {
            // A merged-away learner (a tombstone) no longer counts.
            learners: learner_db
                .int("SELECT COUNT(*) AS n FROM learners WHERE state <> 'MERGED'")
                .await,
            enrollments: learner_db.count("enrollments").await,
            completions: learner_db
                .int("SELECT COUNT(*) AS n FROM enrollments WHERE state = 'COMPLETED'")
                .await,
            certificates: learner_db.count("certificates").await,
            active_learners: learner_db
                .int(
                    "SELECT COUNT(DISTINCT e.learner_id) AS n FROM progress_records p \
                     JOIN enrollments e ON e.id = p.enrollment_id",
                )
                .await,
            progress_minutes: learner_db
                .int("SELECT COALESCE(SUM(minutes_spent), 0) AS n FROM progress_records")
                .await,
        }
    }

    pub(crate) fn of_report(summary: &ProgramSummary) -> Self {
        Self {
            learners: summary.new_learners,
            enrollments: summary.enrollments,
            completions: summary.completions,
            certificates: summary.certificates_issued,
            active_learners: summary.active_learners,
            progress_minutes: (summary.learning_hours * 60.0).round() as i64,
        }
    }
}

/// A TCP proxy in front of PostgreSQL that a test can cut: the listening
/// socket is closed (new connections are refused, as when the server is
/// stopped) and every live connection is dropped; `restore` listens again
/// on the same port.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    up: watch::Sender<bool>,
    flowing: watch::Sender<bool>,
    accepted: Arc<AtomicU64>,
}

impl Proxy {
    pub(crate) async fn start(target: SocketAddr) -> Self {
        let listener = listen(0).await;
        let port = listener.local_addr().unwrap().port();
        let (up, _) = watch::channel(true);
        let (flowing, _) = watch::channel(true);
        let accepted = Arc::new(AtomicU64::new(0));
        tokio::spawn(serve_proxy(
            listener,
            target,
            up.clone(),
            flowing.clone(),
            accepted.clone(),
        ));
        Self {
            port,
            up,
            flowing,
            accepted,
        }
    }

    /// `url` (a PostgreSQL URL) pointed at this proxy instead.
    pub(crate) fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (auth, rest) = rest.split_once('@').unwrap();
        let (_, path) = rest.split_once('/').unwrap();
        format!("{scheme}://{auth}@127.0.0.1:{}/{path}", self.port)
    }

    pub(crate) fn cut(&self) {
        self.up.send_replace(false);
    }

    pub(crate) fn restore(&self) {
        self.up.send_replace(true);
    }

    /// Connections stay open (and new ones are accepted) but no byte gets
    /// through: the database hangs, as behind a network partition.
    pub(crate) fn stall(&self) {
        self.flowing.send_replace(false);
    }

    /// The held bytes go through, and everything after them.
    pub(crate) fn heal(&self) {
        self.flowing.send_replace(true);
    }

    pub(crate) fn connections(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The PostgreSQL server the suite's databases live on (where
    /// `ACADEMY_TEST_POSTGRES_URL` points, as for `TestDb`).
    pub(crate) fn postgres_server() -> SocketAddr {
        let url = std::env::var("ACADEMY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        Self::postgres_addr(&url)
    }

    fn postgres_addr(url: &str) -> SocketAddr {
        let rest = url.split_once('@').unwrap().1;
        let host_port = rest.split('/').next().unwrap();
        let host_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:5432")
        };
        let host_port = host_port.replace("localhost", "127.0.0.1");
        host_port.parse().unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.up.send_replace(false);
    }
}

async fn listen(port: u16) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    // Accepted connections the proxy closed linger in TIME_WAIT on this port.
    socket.set_reuseaddr(true).unwrap();
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap();
    socket.listen(1024).unwrap()
}

/// Copies bytes one way; while the proxy is stalled they are held back.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flowing: watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if flowing.wait_for(|f| *f).await.is_err() || to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

async fn serve_proxy(
    listener: TcpListener,
    target: SocketAddr,
    up: watch::Sender<bool>,
    flowing: watch::Sender<bool>,
    accepted: Arc<AtomicU64>,
) {
    let port = listener.local_addr().unwrap().port();
    let mut listener = Some(listener);
    let mut state = up.subscribe();
    loop {
        let Some(current) = listener.as_ref() else {
            // Cut: wait for restore (or for the proxy to go away).
            if state.wait_for(|up| *up).await.is_err() {
                return;
            }
            listener = Some(listen(port).await);
            continue;
        };
        tokio::select! {
            accept = current.accept() => {
                let Ok((client, _)) = accept else { continue };
                accepted.fetch_add(1, Ordering::Relaxed);
                let mut cut = up.subscribe();
                let flowing = flowing.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::select! {
                        _ = async {
                            tokio::join!(
                                pump(client_read, server_write, flowing.clone()),
                                pump(server_read, client_write, flowing),
                            )
                        } => {}
                        _ = cut.wait_for(|up| !*up) => {}
                    }
                });
            }
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*state.borrow_and_update() {
                    listener = None;
                }
            }
        }
    }
}
