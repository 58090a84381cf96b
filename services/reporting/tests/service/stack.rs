//! Course, learner and reporting services in-process on ephemeral ports.

use academy_runtime::ServerConfig;
use academy_testkit::TestDb;
use academy_testkit::server::wait_until_serving;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub struct Stack {
    pub course: SocketAddr,
    pub learner: SocketAddr,
    pub reporting: SocketAddr,
    reporting_url: String,
    feeds: (SocketAddr, SocketAddr),
    shutdown: CancellationToken,
    _dbs: Vec<TestDb>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

impl Stack {
    /// The reporting service uses `db`; the sources get SQLite files.
    pub async fn start(db: TestDb) -> Self {
        let shutdown = CancellationToken::new();
        let (course_db, learner_db) = (TestDb::sqlite(), TestDb::sqlite());
        let (course_listener, course) = bind().await;
        let (learner_listener, learner) = bind().await;
        let (reporting_listener, reporting) = bind().await;

        let config = ServerConfig::local(course_db.dir.path().to_owned());
        let conn = academy_runtime::db::connect(&course_db.url).await.unwrap();
        let token = shutdown.clone();
        tokio::spawn(
            async move { academy_course::serve(&config, course_listener, conn, token).await },
        );

        let config = ServerConfig::local(learner_db.dir.path().to_owned());
        let conn = academy_runtime::db::connect(&learner_db.url).await.unwrap();
        let settings = academy_learner::LearnerSettings::new(format!("http://{course}"));
        let token = shutdown.clone();
        tokio::spawn(async move {
            academy_learner::serve(&config, &settings, learner_listener, conn, token).await
        });

        spawn_reporting(
            &db.url,
            db.dir.path().to_owned(),
            reporting_listener,
            (course, learner),
            shutdown.clone(),
        )
        .await;

        for addr in [course, learner, reporting] {
            wait_until_serving(addr).await;
        }
        Self {
            course,
            learner,
            reporting,
            reporting_url: db.url.clone(),
            feeds: (course, learner),
            shutdown,
            _dbs: vec![course_db, learner_db, db],
        }
    }

    /// Another reporting replica on the same database: its model is loaded
    /// from the tables the first one wrote.
    pub async fn another_reporting(&self) -> SocketAddr {
        let (listener, addr) = bind().await;
        let dir = self._dbs[2].dir.path().to_owned();
        spawn_reporting(
            &self.reporting_url,
            dir,
            listener,
            self.feeds,
            self.shutdown.clone(),
        )
        .await;
        wait_until_serving(addr).await;
        addr
    }

    pub async fn channel(addr: SocketAddr) -> Channel {
        academy_testkit::server::channel(addr).await
    }
}

async fn spawn_reporting(
    url: &str,
    data_dir: std::path::PathBuf,
    listener: TcpListener,
    (course, learner): (SocketAddr, SocketAddr),
    shutdown: CancellationToken,
) {
    let config = ServerConfig::local(data_dir);
    let conn = academy_runtime::db::connect(url).await.unwrap();
    let settings = academy_reporting::ReportingSettings {
        course_endpoint: format!("http://{course}"),
        learner_endpoint: format!("http://{learner}"),
        min_cell_size: 5,
    };
    tokio::spawn(async move {
        academy_reporting::serve(&config, &settings, listener, conn, shutdown).await
    });
}
