//! Academy's learner service: learners, bulk import, enrollments, progress,
//! certificates, earned skills, erasure, finding and merging duplicate
//! learners (`rpc/duplicates.rs`, `rpc/merge.rs`, `store/merge.rs`), and
//! program invitations (`rpc/invitations.rs`, `store/invitations.rs`).
//!
//! From the proto to the code: `api.rs` (tonic traits) → `rpc/<group>.rs`
//! (handler on `rpc::Context`: validate, then write through one
//! `academy_runtime::write::UnitOfWork`) → `convert.rs` (proto ↔ domain)
//! and `store/<table>.rs` (SQL) → `tests/service/<group>.rs`. Rows that
//! name a learner or course by a provider key are resolved in
//! `rpc/keys.rs`. Enroll asks the course service through `course_client.rs`,
//! and so does progress (whether an archived course still takes history).
//! Provider progress (a report of the enrollment as a whole) and the
//! business-time completion are in `rpc/progress.rs`.

pub mod api;
pub mod config;
pub mod convert;
pub mod course_client;
pub mod domain;
pub mod entity;
pub mod migration;
pub mod rpc;
pub mod scopes;
pub mod store;

use academy_proto::learner::{
    enrollment_service_server, invitation_service_server, learner_service_server,
};
use academy_runtime::auth::ClientToken;
use academy_runtime::cli::Cli;
use academy_runtime::feed::{FeedService, Outbox};
use academy_runtime::server::{self, Services};
use academy_runtime::{ServerConfig, ServiceIdentity, db};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::LearnerSettings;
pub use migration::Migrator;

pub const SERVICE: ServiceIdentity = ServiceIdentity {
    name: "learner",
    default_listen: "127.0.0.1:50052",
};

/// Entry point of the `academy-learner` binary.
pub async fn main(cli: Cli<LearnerSettings>) -> anyhow::Result<()> {
    let (config, settings) = (cli.server, cli.extra);
    academy_runtime::cli::run::<Migrator, _, _>(
        SERVICE,
        cli.command,
        &config,
        |listener, db, shutdown| serve(&config, &settings, listener, db, shutdown),
    )
    .await
}

/// Serves the learner service on `listener` until `shutdown` is cancelled.
pub async fn serve(
    config: &ServerConfig,
    settings: &LearnerSettings,
    listener: TcpListener,
    db: DatabaseConnection,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    db::migrate_at_start::<Migrator>(config.migrate, &db).await?;
    let outbox = Outbox::new();
    let ctx = rpc::Context {
        db: db.clone(),
        outbox: outbox.clone(),
        courses: course_client::CourseClient::balanced(
            &config.tls,
            &settings.course_endpoint,
            settings.course_timeout(),
            ClientToken::from_config(&config.auth, "service:learner", scopes::CALLS_TO_COURSE),
        )?,
        batch_size: settings.import_batch_size.max(1),
        max_stream_rows: settings.max_stream_rows.max(1),
        stream_idle: settings.stream_idle_timeout(),
    };
    let mut services = Services::new();
    services
        .add(api::LearnerApi::new(ctx.clone()).into_server(config.max_message_bytes))
        .add(api::EnrollmentApi::new(ctx.clone()).into_server(config.max_message_bytes))
        .add(api::InvitationApi::new(ctx).into_server(config.max_message_bytes))
        .authorize(
            learner_service_server::SERVICE_NAME,
            scopes::LEARNER_SERVICE,
        )
        .authorize(
            enrollment_service_server::SERVICE_NAME,
            scopes::ENROLLMENT_SERVICE,
        )
        .authorize(
            invitation_service_server::SERVICE_NAME,
            scopes::INVITATION_SERVICE,
        );
    FeedService::add_to(&mut services, config, db.clone(), outbox, shutdown.clone());
    server::serve(config, listener, db, services, shutdown).await
}
