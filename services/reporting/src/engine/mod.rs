//! The reporting engine: the read model held in memory, made for aggregate
//! answers and still exact.
//!
//! The durable projection tables (`projection/`) stay the source of truth
//! a replica starts from; this model is loaded from them (`load.rs`) and
//! then moved by the same events, batch by batch, after each batch commits.
//! Reports (`figures/`) read one consistent model under a read lock: a batch
//! is applied under the write lock, so no answer sees half of one.
//!
//! - `learners.rs`, `enrollments.rs`, `activity.rs`: columns indexed by
//!   dense numbers, with day indexes the reports scan.
//! - `scopes.rs`: per-day counters and per-day active-learner bitmaps
//!   (roaring) for the platform and each program.
//! - `cube.rs`: the same per-day counters per attribute value and course,
//!   per scope, for breakdowns.
//! - `merge.rs`: following a merge of duplicate learners.
//! - `invitations.rs`: program invitations (reach: invited, joined).
//! - `catalog.rs`: labels; `names.rs`: string interning and id keys.

pub mod activity;
pub mod catalog;
mod cells;
pub mod cube;
pub mod enrollments;
pub mod invitations;
pub mod learners;
pub mod load;
mod merge;
pub mod model;
pub mod names;
pub mod scopes;

use academy_domain::DomainError;
use academy_proto::events::Event;
use chrono::{Datelike, NaiveDate};
use std::sync::{Arc, RwLock, RwLockReadGuard};

pub use model::Model;

/// A calendar day as a number (days from the common era), so day indexes
/// are plain integers.
pub type Day = i32;
/// The day of something that has not happened.
pub const NEVER: Day = Day::MAX;

pub fn day_of(date: NaiveDate) -> Day {
    date.num_days_from_ce()
}

/// The UTC calendar day of an event's business time.
pub fn event_day(event: &Event) -> Option<Day> {
    crate::projection::event_day(event).map(day_of)
}

/// The model every report reads, shared by the API and the followers.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    model: Arc<RwLock<Model>>,
}

impl Engine {
    pub fn new(model: Model) -> Self {
        Self {
            model: Arc::new(RwLock::new(model)),
        }
    }

    /// One consistent state of the model, for the length of a report.
    pub fn read(&self) -> Result<RwLockReadGuard<'_, Model>, DomainError> {
        self.model
            .read()
            .map_err(|_| DomainError::internal("the report model was poisoned by a panic"))
    }

    /// Applies a committed batch of `source`'s events, all or nothing for
    /// readers. Events the model has already applied are skipped.
    pub fn apply(&self, source: &str, events: &[&Event]) {
        let mut model = match self.model.write() {
            Ok(model) => model,
            Err(poisoned) => poisoned.into_inner(),
        };
        match model.apply_all(source, events.iter().copied()) {
            Ok(()) => {}
            // The follower sees the position short of the batch and
            // subscribes again from it.
            Err(model::Stop::Gap { expected, got }) => {
                tracing::info!(
                    source,
                    expected,
                    got,
                    "report model skipped a batch ahead of it"
                )
            }
            Err(model::Stop::NotUnderstood(sequence)) => {
                tracing::error!(source, sequence, "the report model cannot apply an event")
            }
        }
    }

    /// Swaps in a whole new generation at once.
    pub fn replace(&self, next: Model) {
        match self.model.write() {
            Ok(mut model) => *model = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }

    pub fn generation(&self) -> i64 {
        self.read().map_or(0, |m| m.generation)
    }

    /// The last sequence of `source` this model reflects.
    pub fn position(&self, source: &str) -> i64 {
        self.read().map_or(0, |m| m.position(source))
    }
}
