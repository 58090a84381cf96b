//! Per-day figures split by one breakdown axis (a learner attribute, or the
//! course), per scope: the same counters as a scope's days, one set per
//! value. A breakdown sums each value's days over the period, so its cost
//! is days × values, not the rows of the period.
//!
//! Learner attributes are current: when a learner's attribute changes (an
//! update, an erasure's blank organisation), everything the learner
//! contributed moves from the old value's cells to the new one's
//! (`Model::contribute`), so the cells always equal a recount under the
//! current attributes.

use super::scopes::ScopeDays;

/// What a breakdown can split by, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    Region,
    Gender,
    BirthYear,
    Employment,
    Organization,
    Course,
    /// Appended after Course: the index of each axis's cells.
    Education,
}

impl Axis {
    /// The axes that follow a learner's current attributes.
    pub const LEARNER: [Axis; 6] = [
        Axis::Region,
        Axis::Gender,
        Axis::BirthYear,
        Axis::Employment,
        Axis::Organization,
        Axis::Education,
    ];
}

impl Axis {
    fn index(self) -> usize {
        self as usize
    }
}

/// One scope's cells: per axis, a vector indexed by the value number
/// (interned values, birth years, course numbers are all small and dense),
/// so an update costs an index, not a hash.
#[derive(Debug, Default)]
struct ScopeCells {
    axes: [Vec<ScopeDays>; 7],
}

#[derive(Debug, Default)]
pub struct Cube {
    /// Per scope: NONE for the platform, else the program number.
    scopes: std::collections::HashMap<u32, ScopeCells>,
}

impl Cube {
    pub fn cell(&mut self, scope: u32, axis: Axis, value: u32) -> &mut ScopeDays {
        let cells = &mut self.scopes.entry(scope).or_default().axes[axis.index()];
        let i = value as usize;
        if i >= cells.len() {
            cells.resize_with(i + 1, ScopeDays::default);
        }
        &mut cells[i]
    }

    /// Every value with figures on `axis` in `scope`.
    pub fn values(&self, scope: u32, axis: Axis) -> impl Iterator<Item = (u32, &ScopeDays)> {
        self.scopes
            .get(&scope)
            .into_iter()
            .flat_map(move |c| c.axes[axis.index()].iter().enumerate())
            .filter(|(_, d)| !d.counts.is_empty())
            .map(|(v, d)| (v as u32, d))
    }
}
