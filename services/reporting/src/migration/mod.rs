//! The reporting service's schema: feed cursors, the projections, their
//! generation and the lease of the replica that writes them.

use sea_orm_migration::prelude::*;

mod m20261128_000005_create_projections;
mod m20261130_000006_create_generations;

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
            Box::new(academy_runtime::feed::epoch::AddCursorEpoch),
        ]
    }
}
