//! The reporting service's schema: feed cursors, the projections, their
//! generation and the lease of the replica that writes them; published
//! report snapshots, the idempotency keys of PublishReport, and targets.

use sea_orm_migration::prelude::*;

mod m20261128_000005_create_projections;
mod m20261130_000006_create_generations;
mod m20261130_000007_create_published_reports;
mod m20261130_000008_create_targets;
mod m20261130_000009_add_learner_education;
mod m20261130_000010_index_enrollment_learner;
mod m20261130_000031_create_invitations;
mod m20261130_000040_add_target_share;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(academy_runtime::feed::cursor::CreateFeedCursors),
            Box::new(m20261128_000005_create_projections::Migration),
            Box::new(academy_runtime::audit::migration::CreateAuditLog),
            Box::new(m20261130_000006_create_generations::Migration),
            Box::new(academy_runtime::feed::lease::CreateFeedLeases),
            Box::new(academy_runtime::db::idempotency::CreateIdempotencyKeys),
            Box::new(academy_runtime::db::idempotency::ScopeIdempotencyKeys),
            Box::new(m20261130_000007_create_published_reports::Migration),
            Box::new(m20261130_000008_create_targets::Migration),
            Box::new(academy_runtime::feed::epoch::AddCursorEpoch),
            Box::new(m20261130_000009_add_learner_education::Migration),
            Box::new(m20261130_000010_index_enrollment_learner::Migration),
            Box::new(m20261130_000031_create_invitations::Migration),
            Box::new(m20261130_000040_add_target_share::Migration),
        ]
    }
}
