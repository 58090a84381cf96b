//! Starting a course server for one test, and request builders.

use academy_proto::audit::audit_service_client::AuditServiceClient;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::*;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_runtime::ServerConfig;
use academy_testkit::TestDb;
pub use academy_testkit::grpc::{expect_code, violated_fields};
use std::net::SocketAddr;
use tonic::transport::Channel;

pub type Client = CourseServiceClient<Channel>;

/// A course service serving one test's database, stopped on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    server: academy_testkit::server::TestServer,
    // Keeps the database (and its temp dir) alive as long as the server.
    db: TestDb,
}

impl TestServer {
    pub async fn start(db: TestDb) -> Self {
        Self::start_at(db, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts again on `addr` (to restart a server where it was).
    pub async fn start_at(db: TestDb, addr: SocketAddr) -> Self {
        let config = ServerConfig::local(db.dir.path().to_owned());
        let conn = academy_runtime::db::connect(&db.url).await.unwrap();
        let server = academy_testkit::server::TestServer::start_at(
            addr,
            move |listener, token| async move {
                academy_course::serve(&config, listener, conn, token).await
            },
        )
        .await;
        Self {
            addr: server.addr,
            server,
            db,
        }
    }

    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    pub async fn channel(&self) -> Channel {
        self.server.channel().await
    }

    pub async fn client(&self) -> Client {
        CourseServiceClient::new(self.channel().await)
    }

    pub async fn feed(&self) -> EventFeedClient<Channel> {
        EventFeedClient::new(self.channel().await)
    }

    pub async fn audit(&self) -> AuditServiceClient<Channel> {
        AuditServiceClient::new(self.channel().await)
    }

    /// Stops the server and waits for it to finish draining.
    pub async fn stop(self) {
        self.stop_keeping_db().await;
    }

    /// Stops the server and hands back its database, to start it again.
    pub async fn stop_keeping_db(self) -> TestDb {
        self.server.stop().await;
        self.db
    }
}

pub fn skill(name: &str) -> CreateSkillRequest {
    CreateSkillRequest {
        skill: Some(Skill {
            name: name.into(),
            category: "Digital".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

pub async fn create_skill(client: &mut Client, name: &str) -> Skill {
    client.create_skill(skill(name)).await.unwrap().into_inner()
}

pub fn course(code: &str, skill_ids: Vec<String>) -> Course {
    Course {
        code: code.into(),
        title: format!("Course {code}"),
        description: "Hands-on introduction".into(),
        provider: "Coursera".into(),
        language: "az".into(),
        level: CourseLevel::Beginner as i32,
        estimated_hours: 12.5,
        skill_ids,
        modules: vec![
            CourseModule {
                title: "Basics".into(),
                estimated_minutes: 45,
                ..Default::default()
            },
            CourseModule {
                title: "Practice".into(),
                estimated_minutes: 90,
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

pub async fn create_course(client: &mut Client, code: &str, skill_ids: Vec<String>) -> Course {
    client
        .create_course(CreateCourseRequest {
            course: Some(course(code, skill_ids)),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub async fn publish(client: &mut Client, id: &str) -> Course {
    client
        .publish_course(PublishCourseRequest {
            id: id.into(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub fn date(year: i32, month: i32, day: i32) -> academy_proto::google::r#type::Date {
    academy_proto::google::r#type::Date { year, month, day }
}
