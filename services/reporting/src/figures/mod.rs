//! Reports computed from the in-memory model (`crate::engine`): sums of
//! per-day counters, unions of per-day active-learner bitmaps, and scans of
//! the day indexes of a period. Every function reads one consistent model.

pub mod breakdown;
pub mod crosstab;
pub mod funnel;
pub mod series;
pub mod slice;
pub mod summary;

use academy_domain::{DomainError, Period};
use std::ops::RangeInclusive;

use crate::engine::scopes::ScopeDays;
use crate::engine::{Day, Model, day_of};

/// Whose figures: the whole platform, or one program's.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// The program's number in the model.
    pub program: Option<u32>,
}

/// A scope with nothing in it yet.
static EMPTY: ScopeDays = ScopeDays {
    counts: std::collections::BTreeMap::new(),
    active: std::collections::BTreeMap::new(),
    completed_by_created: std::collections::BTreeMap::new(),
};

impl Scope {
    /// `program_id` must name a program the course feed told us about.
    pub fn resolve(model: &Model, program_id: Option<&str>) -> Result<Self, DomainError> {
        match program_id {
            None => Ok(Self { program: None }),
            Some(id) => match model.catalog.known_program(id) {
                Some(p) => Ok(Self { program: Some(p) }),
                None => Err(DomainError::not_found("program", id)),
            },
        }
    }

    /// Whether an enrollment or activity row of `program` is in scope.
    pub fn includes(&self, program: u32) -> bool {
        self.program.is_none_or(|p| p == program)
    }

    fn days<'m>(&self, model: &'m Model) -> &'m ScopeDays {
        model.scopes.of(self.program).unwrap_or(&EMPTY)
    }
}

/// The days of a period, as a range of the model's day numbers.
pub fn days(period: &Period) -> RangeInclusive<Day> {
    day_of(period.start)..=day_of(period.end)
}

/// `part / whole`, 0 when there is nothing to divide.
pub fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
