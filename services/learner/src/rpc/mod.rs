//! One module per RPC group: each function is one RPC's body — validate,
//! run the transaction (state change + outbox event), convert back.

pub mod bulk_enroll;
pub mod certificates;
pub mod enrollments;
pub mod import;
pub mod learners;
pub mod progress;

use academy_domain::DomainError;
use academy_proto::learner as pb;
use academy_runtime::feed::Outbox;
use sea_orm::DatabaseConnection;

use crate::course_client::CourseClient;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct Registry {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub courses: CourseClient,
    /// Rows per transaction in the streaming imports.
    pub batch_size: usize,
}

/// Running totals of one streaming import (learners or enrollments).
#[derive(Debug, Default)]
pub struct Tally {
    pub created: i64,
    pub duplicates: i64,
    pub rejected: Vec<pb::RejectedRow>,
}

impl Tally {
    pub fn reject(&mut self, index: i64, err: DomainError) {
        let (field, reason) = match err {
            DomainError::InvalidArgument { violations } => (
                violations
                    .first()
                    .map(|v| v.field.clone())
                    .unwrap_or_default(),
                violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => (String::new(), other.to_string()),
        };
        self.rejected.push(pb::RejectedRow {
            index,
            reason,
            field,
        });
    }
}
