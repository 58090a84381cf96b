//! The course service's schema, as versioned migrations. Migrations define
//! their own identifiers and never import today's entity types, so an old
//! migration keeps meaning what it meant when it was written.

use sea_orm_migration::prelude::*;

mod m20261128_000003_create_catalog;
mod m20261130_000004_add_provider_course_id;
mod m20261130_000021_add_archive_time;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(academy_runtime::feed::migration::CreateOutbox),
            Box::new(academy_runtime::db::idempotency::CreateIdempotencyKeys),
            Box::new(m20261128_000003_create_catalog::Migration),
            Box::new(academy_runtime::audit::migration::CreateAuditLog),
            Box::new(academy_runtime::db::idempotency::ScopeIdempotencyKeys),
            Box::new(m20261130_000004_add_provider_course_id::Migration),
            Box::new(academy_runtime::feed::epoch::CreateFeedEpoch),
            Box::new(m20261130_000021_add_archive_time::Migration),
        ]
    }
}
