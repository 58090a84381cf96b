//! The learner service's schema, as versioned migrations.

use sea_orm_migration::prelude::*;

mod m20261128_000003_create_learners;
mod m20261130_000004_add_education_level;
mod m20261130_000010_create_learner_merges;
mod m20261130_000020_add_provider_progress;
mod m20261130_000030_create_invitations;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(academy_runtime::feed::migration::CreateOutbox),
            Box::new(academy_runtime::db::idempotency::CreateIdempotencyKeys),
            Box::new(m20261128_000003_create_learners::Migration),
            Box::new(academy_runtime::audit::migration::CreateAuditLog),
            Box::new(academy_runtime::db::idempotency::ScopeIdempotencyKeys),
            Box::new(academy_runtime::feed::epoch::CreateFeedEpoch),
            Box::new(m20261130_000010_create_learner_merges::Migration),
            Box::new(m20261130_000004_add_education_level::Migration),
            Box::new(m20261130_000020_add_provider_progress::Migration),
            Box::new(m20261130_000030_create_invitations::Migration),
        ]
    }
}
