//! The reporting service's schema: feed cursors and the projections.

use sea_orm_migration::prelude::*;

mod m20261128_000005_create_projections;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(academy_runtime::feed::cursor::CreateFeedCursors),
            Box::new(m20261128_000005_create_projections::Migration),
            Box::new(academy_runtime::audit::migration::CreateAuditLog),
        ]
    }
}
