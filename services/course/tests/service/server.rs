use academy_testkit::{TestDb, on_both_backends};
use sea_orm_migration::MigratorTrait;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::common::*;

on_both_backends!(
    serves_health_per_service_and_drains,
    migrations_are_repeatable
);

async fn serves_health_per_service_and_drains(db: TestDb) {
    let server = TestServer::start(db).await;
    let channel = tonic::transport::Channel::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for service in [
        "",
        "academy.course.v1.CourseService",
        "academy.events.v1.EventFeed",
    ] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status, ServingStatus::Serving as i32, "{service:?}");
    }
    // An open feed subscription must not hold shutdown hostage.
    let mut feed = server.feed().await;
    let _stream = feed
        .subscribe(academy_proto::events::SubscribeRequest { after_sequence: 0 })
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server.stop())
        .await
        .expect("server stops promptly");
}

async fn migrations_are_repeatable(db: TestDb) {
    let conn = academy_runtime::db::connect(&db.url).await.unwrap();
    academy_course::Migrator::up(&conn, None).await.unwrap();
    academy_course::Migrator::up(&conn, None).await.unwrap();
    assert!(
        academy_course::Migrator::get_pending_migrations(&conn)
            .await
            .unwrap()
            .is_empty()
    );
}
