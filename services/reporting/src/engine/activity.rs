//! Progress as rows grouped by day: who, in which program and course, how
//! many minutes. Breakdowns scan the days of their period.

use std::collections::BTreeMap;

use super::Day;

/// One day's progress rows, as columns.
#[derive(Debug, Default)]
pub struct ActivityDay {
    pub learner: Vec<u32>,
    pub program: Vec<u32>,
    pub course: Vec<u32>,
    pub minutes: Vec<i64>,
}

/// A progress row.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub learner: u32,
    pub program: u32,
    pub course: u32,
    pub minutes: i64,
}

#[derive(Debug, Default)]
pub struct Activity {
    pub days: BTreeMap<Day, ActivityDay>,
    rows: usize,
}

impl Activity {
    pub fn push(&mut self, day: Day, p: Progress) {
        let d = self.days.entry(day).or_default();
        d.learner.push(p.learner);
        d.program.push(p.program);
        d.course.push(p.course);
        d.minutes.push(p.minutes);
        self.rows += 1;
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}
