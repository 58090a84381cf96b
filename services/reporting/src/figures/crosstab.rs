//! Figures of a period split by two dimensions at once (gender × region,
//! course × organisation), with the breakdown's definitions.
//!
//! The breakdown cells (`engine::cube`) hold one dimension each; cells for
//! every pair of dimensions would multiply the model's memory. A cross-tab
//! instead walks the period's rows through the day indexes the model
//! already keeps (registrations, program members, enrollments created and
//! completed) and each learner's progress rows, keyed by the pair of values.
//! Its cost is the rows of the period plus one pass over the progress rows,
//! not the whole history; the same walk answers a breakdown restricted to a
//! slice of learners (a data scope), which the cells cannot.

use academy_domain::learner::{UNKNOWN, UNKNOWN_BIRTH_YEAR};
use academy_domain::{AgeBand, Period};
use std::collections::{BTreeMap, HashMap};

use super::breakdown::Dimension;
use super::slice::Slice;
use super::{Scope, days};
use crate::engine::enrollments::{FIRST_IN_PROGRAM, FIRST_OVERALL};
use crate::engine::names::NONE;
use crate::engine::{Model, day_of};

/// The additive figures of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub new_learners: i64,
    pub enrollments: i64,
    pub completions: i64,
    pub completed_of_created: i64,
    pub learning_minutes: i64,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    pub fn add(&mut self, other: &Tally) {
        self.new_learners += other.new_learners;
        self.enrollments += other.enrollments;
        self.completions += other.completions;
        self.completed_of_created += other.completed_of_created;
        self.learning_minutes += other.learning_minutes;
    }
}

/// One cell of a cross-tab, keys and labels resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub row_key: String,
    pub row_label: String,
    pub column_key: String,
    pub column_label: String,
    pub figures: Tally,
}

/// Whether a dimension can be one side of a cross-tab: the learner
/// attributes and the course (a skill's rows are derived from courses and
/// overlap, so a skill side is not offered).
pub fn supported(dimension: Dimension) -> bool {
    dimension != Dimension::Skill
}

/// The value number of `learner` (or of the enrollment's `course`) on a
/// dimension, as the model stores it: interned text, the birth year, or
/// the course number.
pub fn value(model: &Model, dimension: Dimension, learner: u32, course: u32) -> u32 {
    let l = &model.learners;
    let i = learner as usize;
    match dimension {
        Dimension::Region => l.region[i],
        Dimension::Gender => l.gender[i],
        Dimension::AgeBand => l.birth_year[i] as u32,
        Dimension::EmploymentStatus => l.employment[i],
        Dimension::Organization => l.organization[i],
        Dimension::EducationLevel => l.education[i],
        Dimension::Course | Dimension::Skill => course,
    }
}

/// Walks the period's rows in `scope`, adding each to the cell `key` gives
/// it (a learner number and a course number in, a pair of value numbers
/// out, or None to leave the row out). Only registered learners count, as
/// in the breakdown's learner cells. `by_course` picks the new-learner
/// definition: first enrollments in the course (true) or learners new to
/// the scope (false).
pub fn tally(
    model: &Model,
    scope: &Scope,
    period: &Period,
    by_course: bool,
    key: impl Fn(u32, u32) -> Option<(u32, u32)>,
) -> HashMap<(u32, u32), Tally> {
    let range = days(period);
    let end = day_of(period.end);
    let e = &model.enrollments;
    let learners = &model.learners;
    let key = |learner: u32, course: u32| {
        if learners.is_registered(learner) {
            key(learner, course)
        } else {
            None
        }
    };
    let mut cells: HashMap<(u32, u32), Tally> = HashMap::new();
    let mut add = |k: Option<(u32, u32)>, f: &dyn Fn(&mut Tally)| {
        if let Some(k) = k {
            f(cells.entry(k).or_default());
        }
    };
    // New learners.
    if by_course {
        let bit = if scope.program.is_some() {
            FIRST_IN_PROGRAM
        } else {
            FIRST_OVERALL
        };
        for (_, list) in e.by_enrolled.range(range.clone()) {
            for &i in list {
                let i = i as usize;
                if scope.includes(e.program[i]) && e.first_in_course[i] & bit != 0 {
                    add(key(e.learner[i], e.course[i]), &|t| t.new_learners += 1);
                }
            }
        }
    } else {
        let newcomers = match scope.program {
            None => Some(&learners.by_register),
            Some(p) => model.scopes.members_by_day.get(&p),
        };
        for (_, list) in newcomers.into_iter().flat_map(|m| m.range(range.clone())) {
            for &l in list {
                add(key(l, NONE), &|t| t.new_learners += 1);
            }
        }
    }
    // Enrollments created in the period, and those of them completed by its end.
    for (_, list) in e.by_enrolled.range(range.clone()) {
        for &i in list {
            let i = i as usize;
            if scope.includes(e.program[i]) {
                let done = e.completed[i] <= end;
                add(key(e.learner[i], e.course[i]), &|t| {
                    t.enrollments += 1;
                    if done {
                        t.completed_of_created += 1;
                    }
                });
            }
        }
    }
    for (_, list) in e.by_completed.range(range.clone()) {
        for &i in list {
            let i = i as usize;
            if scope.includes(e.program[i]) {
                add(key(e.learner[i], e.course[i]), &|t| t.completions += 1);
            }
        }
    }
    // Progress: one pass over each learner's rows.
    for (learner, rows) in model.activity.of_learner.iter().enumerate() {
        let learner = learner as u32;
        if rows.is_empty() || !learners.is_registered(learner) {
            continue;
        }
        for p in rows {
            if range.contains(&p.day) && scope.includes(p.program) {
                let minutes = p.minutes;
                add(key(learner, p.course), &|t| t.learning_minutes += minutes);
            }
        }
    }
    cells.retain(|_, t| !t.is_empty());
    cells
}

/// The cross-tab of `rows` × `columns` (both supported, not equal), every
/// non-empty pair, in no particular order; over `slice`'s learners only
/// when given.
pub fn crosstab(
    model: &Model,
    scope: &Scope,
    period: &Period,
    rows: Dimension,
    columns: Dimension,
    slice: Option<&Slice>,
) -> Vec<Cell> {
    let by_course = rows == Dimension::Course || columns == Dimension::Course;
    let cells = tally(model, scope, period, by_course, |learner, course| {
        if slice.is_some_and(|s| !s.admits(model, learner)) {
            return None;
        }
        Some((
            value(model, rows, learner, course),
            value(model, columns, learner, course),
        ))
    });
    // Birth years fold into bands, so several value pairs may share a key.
    let mut keyed: BTreeMap<(String, String), Tally> = BTreeMap::new();
    for ((r, c), figures) in cells {
        let k = (key(model, rows, period, r), key(model, columns, period, c));
        keyed.entry(k).or_default().add(&figures);
    }
    keyed
        .into_iter()
        .map(|((row_key, column_key), figures)| Cell {
            row_label: label(model, rows, &row_key),
            column_label: label(model, columns, &column_key),
            row_key,
            column_key,
            figures,
        })
        .collect()
}

/// A value number back to the key a cross-tab row shows (age bands at the
/// period's end, as in the breakdown).
pub fn key(model: &Model, dimension: Dimension, period: &Period, value: u32) -> String {
    match dimension {
        Dimension::Course | Dimension::Skill => model.catalog.courses.name(value).to_owned(),
        Dimension::AgeBand => match AgeBand::at(value as i32, period.end) {
            _ if value as i32 == UNKNOWN_BIRTH_YEAR => UNKNOWN.to_owned(),
            AgeBand::Under15 => AgeBand::From15To24.label().to_owned(),
            band => band.label().to_owned(),
        },
        _ => model.learners.values.name(value).to_owned(),
    }
}

fn label(model: &Model, dimension: Dimension, key: &str) -> String {
    let c = &model.catalog;
    match dimension {
        Dimension::Course => c.courses.get(key).map(|k| c.course_label(k)),
        _ => None,
    }
    .unwrap_or_else(|| key.to_owned())
}
