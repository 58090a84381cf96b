//! Academy's course catalog: skills, courses with ordered modules, programs.
//!
//! From the proto to the code: `api.rs` (tonic trait) → `rpc/<resource>.rs`
//! (handler on `rpc::Context`: validate, then write through one
//! `academy_runtime::write::UnitOfWork`) → `convert.rs` (proto ↔ domain)
//! and `store/<resource>.rs` (SQL) → `tests/service/<resource>.rs`.

pub mod api;
pub mod convert;
pub mod domain;
pub mod entity;
pub mod migration;
pub mod rpc;
pub mod scopes;
pub mod store;

use academy_proto::course::course_service_server;
use academy_runtime::cli::{Cli, NoExtra};
use academy_runtime::feed::{FeedService, Outbox};
use academy_runtime::server::{self, Services};
use academy_runtime::{ServerConfig, ServiceIdentity, db};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use migration::Migrator;

pub const SERVICE: ServiceIdentity = ServiceIdentity {
    name: "course",
    default_listen: "127.0.0.1:50051",
};

/// Entry point of the `academy-course` binary.
pub async fn main(cli: Cli<NoExtra>) -> anyhow::Result<()> {
    let config = cli.server;
    academy_runtime::cli::run::<Migrator, _, _>(
        SERVICE,
        cli.command,
        &config,
        |listener, db, shutdown| serve(&config, listener, db, shutdown),
    )
    .await
}

/// Serves the course service on `listener` until `shutdown` is cancelled.
/// Tests call this with a listener on port 0.
pub async fn serve(
    config: &ServerConfig,
    listener: TcpListener,
    db: DatabaseConnection,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    db::migrate_at_start::<Migrator>(config.migrate, &db).await?;
    let outbox = Outbox::new();
    let ctx = rpc::Context {
        db: db.clone(),
        outbox: outbox.clone(),
    };
    let mut services = Services::new();
    services
        .add(api::CourseApi::new(ctx).into_server(config.max_message_bytes))
        .authorize(course_service_server::SERVICE_NAME, scopes::COURSE_SERVICE);
    FeedService::add_to(&mut services, config, db.clone(), outbox, shutdown.clone());
    server::serve(config, listener, db, services, shutdown).await
}
