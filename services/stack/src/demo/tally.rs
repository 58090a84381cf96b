//! What the demo generated, tallied for the half year the stack reports on,
//! so the report can be checked against the data instead of trusted.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// One region's figures (and, under `total`, the whole program's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Figures {
    pub(crate) new_learners: i64,
    pub(crate) enrollments: i64,
    pub(crate) completions: i64,
    pub(crate) learning_minutes: i64,
}

/// The expected report of one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Expected {
    pub(crate) half: String,
    pub(crate) registered_learners: i64,
    pub(crate) active_learners: i64,
    pub(crate) total: Figures,
    pub(crate) regions: BTreeMap<String, Figures>,
}

/// Counts generated rows that fall inside `[first, last]`.
#[derive(Debug)]
pub(crate) struct Tally {
    first: NaiveDate,
    last: NaiveDate,
    expected: Expected,
    active: HashSet<String>,
}

impl Tally {
    pub(crate) fn new(half: &str, first: NaiveDate, last: NaiveDate) -> Self {
        Self {
            first,
            last,
            expected: Expected {
                half: half.to_owned(),
                ..Default::default()
            },
            active: HashSet::new(),
        }
    }

    fn inside(&self, at: DateTime<Utc>) -> bool {
        (self.first..=self.last).contains(&at.date_naive())
    }

    fn region(&mut self, region: &str) -> &mut Figures {
        self.expected.regions.entry(region.to_owned()).or_default()
    }

    pub(crate) fn learner(&mut self, region: &str, at: DateTime<Utc>) {
        if at.date_naive() <= self.last {
            self.expected.registered_learners += 1;
        }
        if self.inside(at) {
            self.expected.total.new_learners += 1;
            self.region(region).new_learners += 1;
        }
    }

    pub(crate) fn enrollment(&mut self, region: &str, at: DateTime<Utc>) {
        if self.inside(at) {
            self.expected.total.enrollments += 1;
            self.region(region).enrollments += 1;
        }
    }

    /// One module done; `completes` when it was the course's last.
    pub(crate) fn progress(
        &mut self,
        learner_id: &str,
        region: &str,
        at: DateTime<Utc>,
        minutes: i64,
        completes: bool,
    ) {
        if !self.inside(at) {
            return;
        }
        self.active.insert(learner_id.to_owned());
        self.expected.total.learning_minutes += minutes;
        let figures = self.region(region);
        figures.learning_minutes += minutes;
        if completes {
            figures.completions += 1;
            self.expected.total.completions += 1;
        }
    }

    pub(crate) fn finish(mut self) -> Expected {
        self.expected.active_learners = self.active.len() as i64;
        self.expected
    }
}
