//! Starting a course server for one test, request builders, and the calls
//! many tests make as set-up (each expects success).

use academy_proto::audit::audit_service_client::AuditServiceClient;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::*;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_runtime::ServerConfig;
use academy_testkit::TestDb;
pub use academy_testkit::grpc::{
    expect_code, expect_invalid, pages, retries_answer_alike, violated_fields,
};
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

pub use academy_testkit::fixtures::{
    add_course_request, date, mask, program_request, skill_request as skill,
};

pub async fn create_skill(client: &mut Client, name: &str) -> Skill {
    client.create_skill(skill(name)).await.unwrap().into_inner()
}

/// Every skill on the first page (1000 at most): the tests hold fewer.
pub async fn all_skills(client: &mut Client) -> Vec<Skill> {
    let request = ListSkillsRequest {
        page_size: 1000,
        ..Default::default()
    };
    let page = client.list_skills(request).await.unwrap().into_inner();
    page.skills
}

/// A create of `course` without a request id.
pub fn create_request(course: Course) -> CreateCourseRequest {
    CreateCourseRequest {
        course: Some(course),
        request_id: String::new(),
    }
}

/// An update of `course` as far as `update_mask` says, if `etag` matches
/// (any etag when empty).
pub fn update_request(
    course: &Course,
    update_mask: Option<prost_types::FieldMask>,
    etag: &str,
) -> UpdateCourseRequest {
    UpdateCourseRequest {
        course: Some(course.clone()),
        update_mask,
        etag: etag.into(),
    }
}

pub async fn get_course(client: &mut Client, id: &str) -> Course {
    let request = GetCourseRequest { id: id.into() };
    client.get_course(request).await.unwrap().into_inner()
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
    let request = create_request(course(code, skill_ids));
    client.create_course(request).await.unwrap().into_inner()
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
