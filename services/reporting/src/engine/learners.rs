//! Learners as columns indexed by a dense learner number: current
//! attributes, the registration day, and the first day of each funnel stage
//! across the platform.

use std::collections::{BTreeMap, HashMap};

use super::names::{Interner, NONE, key};
use super::{Day, NEVER};

/// A learner's anonymous attributes, as events carry them.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    pub region: &'a str,
    pub gender: &'a str,
    pub birth_year: i32,
    pub employment_status: &'a str,
    pub organization: &'a str,
    /// "ISCED_0" to "ISCED_8" or "unknown".
    pub education_level: &'a str,
}

/// The first day a learner reached each funnel stage (NEVER until then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firsts {
    pub enrolled: Day,
    pub active: Day,
    pub completed: Day,
    pub certified: Day,
}

impl Default for Firsts {
    fn default() -> Self {
        Self {
            enrolled: NEVER,
            active: NEVER,
            completed: NEVER,
            certified: NEVER,
        }
    }
}

#[derive(Debug, Default)]
pub struct Learners {
    index: HashMap<u128, u32>,
    /// NEVER for a learner only seen in enrollments or progress (its
    /// registration not applied): counted where the projection's tables
    /// count it without its row in `r_learners`, nowhere else.
    pub register: Vec<Day>,
    pub region: Vec<u32>,
    pub gender: Vec<u32>,
    pub birth_year: Vec<i32>,
    pub employment: Vec<u32>,
    pub organization: Vec<u32>,
    pub education: Vec<u32>,
    pub firsts: Vec<Firsts>,
    /// The newest of the learner's enrollments (a list threaded through
    /// `Enrollments::next_of_learner`).
    pub enrollments_head: Vec<u32>,
    /// Learner numbers by registration day.
    pub by_register: BTreeMap<Day, Vec<u32>>,
    /// Attribute values, shared by the attribute columns.
    pub values: Interner,
}

impl Learners {
    pub fn find(&self, id: &str) -> Option<u32> {
        self.index.get(&key(id)).copied()
    }

    /// The learner's number, made (unregistered) when first seen.
    pub fn find_or_add(&mut self, id: &str) -> u32 {
        if let Some(i) = self.find(id) {
            return i;
        }
        let i = self.register.len() as u32;
        self.index.insert(key(id), i);
        let blank = self.values.intern("");
        self.register.push(NEVER);
        self.region.push(blank);
        self.gender.push(blank);
        self.birth_year.push(0);
        self.employment.push(blank);
        self.organization.push(blank);
        self.education.push(blank);
        self.firsts.push(Firsts::default());
        self.enrollments_head.push(NONE);
        i
    }

    pub fn is_registered(&self, learner: u32) -> bool {
        self.register[learner as usize] != NEVER
    }

    /// Registers a learner; a learner registered before keeps its first
    /// registration (a replayed event). False when nothing changed.
    pub fn register(&mut self, id: &str, day: Day, attributes: &Attributes<'_>) -> bool {
        let i = self.find_or_add(id);
        if self.is_registered(i) {
            return false;
        }
        self.register_at(i, day);
        self.set_attributes(i, attributes);
        true
    }

    /// Dates the registration of a known, unregistered learner.
    pub fn register_at(&mut self, learner: u32, day: Day) {
        self.register[learner as usize] = day;
        self.by_register.entry(day).or_default().push(learner);
    }

    /// Forgets every registration, funnel day and enrollment list, keeping
    /// the learner numbers and attributes; the registration days it had.
    pub fn restart(&mut self) -> Vec<Day> {
        let n = self.register.len();
        self.by_register.clear();
        self.firsts = vec![Firsts::default(); n];
        self.enrollments_head = vec![NONE; n];
        std::mem::replace(&mut self.register, vec![NEVER; n])
    }

    pub fn set_attributes(&mut self, learner: u32, a: &Attributes<'_>) {
        let i = learner as usize;
        self.region[i] = self.values.intern(a.region);
        self.gender[i] = self.values.intern(a.gender);
        self.birth_year[i] = a.birth_year;
        self.employment[i] = self.values.intern(a.employment_status);
        self.organization[i] = self.values.intern(a.organization);
        self.education[i] = self.values.intern(a.education_level);
    }

    /// The learner's value on each learner axis (`Axis::LEARNER` order).
    pub fn axis_values(&self, learner: u32) -> [u32; 6] {
        let i = learner as usize;
        [
            self.region[i],
            self.gender[i],
            self.birth_year[i] as u32,
            self.employment[i],
            self.organization[i],
            self.education[i],
        ]
    }

    /// Erasure keeps the learner counted; the organisation is personal data.
    pub fn erase(&mut self, learner: u32) {
        self.organization[learner as usize] = self.values.intern("");
    }

    pub fn len(&self) -> usize {
        self.register.len()
    }

    /// Gives back the growth slack of the columns (after a load).
    pub fn shrink_to_fit(&mut self) {
        self.index.shrink_to_fit();
        self.register.shrink_to_fit();
        self.region.shrink_to_fit();
        self.gender.shrink_to_fit();
        self.birth_year.shrink_to_fit();
        self.employment.shrink_to_fit();
        self.organization.shrink_to_fit();
        self.education.shrink_to_fit();
        self.firsts.shrink_to_fit();
        self.enrollments_head.shrink_to_fit();
    }

    pub fn is_empty(&self) -> bool {
        self.register.is_empty()
    }
}
