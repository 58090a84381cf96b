//! Figures of a period split by one dimension. Learner dimensions group by
//! each learner's current attributes; course and skill rows may overlap.

use academy_domain::{AgeBand, EmploymentStatus, Gender, Period, Region};
use std::collections::BTreeMap;

use super::{Scope, days};
use crate::engine::{Model, day_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Region,
    Gender,
    AgeBand,
    EmploymentStatus,
    Organization,
    Course,
    Skill,
}

/// One row of a breakdown, before rates are computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub key: String,
    pub label: String,
    pub new_learners: i64,
    pub enrollments: i64,
    pub completions: i64,
    /// Of the enrollments created in the period, those completed by its end.
    pub completed_of_created: i64,
    pub learning_minutes: i64,
}

/// Rows while scanning, indexed by the dimension's value number (dense:
/// interned values, course and skill numbers, birth years), so a scan of a
/// million rows costs an array index each, not a hash.
#[derive(Debug, Default)]
struct Tally {
    rows: Vec<Option<Row>>,
}

impl Tally {
    fn at(&mut self, k: u32) -> &mut Row {
        let i = k as usize;
        if i >= self.rows.len() {
            self.rows.resize_with(i + 1, || None);
        }
        self.rows[i].get_or_insert_with(Row::default)
    }

    fn into_rows(self) -> impl Iterator<Item = (u32, Row)> {
        self.rows
            .into_iter()
            .enumerate()
            .filter_map(|(k, row)| row.map(|r| (k as u32, r)))
    }
}

pub fn breakdown(model: &Model, scope: &Scope, period: &Period, dimension: Dimension) -> Vec<Row> {
    let keys = Keys { model, dimension };
    let end = day_of(period.end);
    let e = &model.enrollments;
    let mut tally = Tally::default();
    let in_scope = |i: &&u32| scope.includes(e.program[**i as usize]);
    for (_, list) in e.by_enrolled.range(days(period)) {
        for &i in list.iter().filter(in_scope) {
            let done = e.completed[i as usize] <= end;
            keys.of_enrollment(i, |k| {
                let row = tally.at(k);
                row.enrollments += 1;
                row.completed_of_created += i64::from(done);
            });
        }
    }
    for (_, list) in e.by_completed.range(days(period)) {
        for &i in list.iter().filter(in_scope) {
            keys.of_enrollment(i, |k| tally.at(k).completions += 1);
        }
    }
    for (_, day) in model.activity.days.range(days(period)) {
        for r in 0..day.learner.len() {
            if scope.includes(day.program[r]) {
                let minutes = day.minutes[r];
                keys.of(day.learner[r], day.course[r], |k| {
                    tally.at(k).learning_minutes += minutes
                });
            }
        }
    }
    new_learners(model, scope, period, &keys, &mut tally);

    let mut rows: BTreeMap<String, Row> = tally
        .into_rows()
        .map(|(k, row)| (keys.key(k), row))
        .collect();
    if dimension == Dimension::AgeBand {
        return age_bands(period, rows);
    }
    for key in all_values(dimension) {
        rows.entry(key).or_default();
    }
    rows.into_iter()
        .map(|(key, row)| Row {
            label: keys.label(&key),
            key,
            ..row
        })
        .collect()
}

/// The dimension's value(s) of a row, as numbers, and back to text.
struct Keys<'m> {
    model: &'m Model,
    dimension: Dimension,
}

impl Keys<'_> {
    /// Calls `f` with each value of the learner's or course's dimension:
    /// none for a learner whose registration the model never saw (as the
    /// tables' join drops it), one per current skill of the course.
    fn of(&self, learner: u32, course: u32, mut f: impl FnMut(u32)) {
        let l = &self.model.learners;
        let i = learner as usize;
        let attribute = match self.dimension {
            Dimension::Course => return f(course),
            Dimension::Skill => {
                return self
                    .model
                    .catalog
                    .skills_of(course)
                    .iter()
                    .for_each(|&s| f(s));
            }
            _ if !l.is_registered(learner) => return,
            Dimension::Region => l.region[i],
            Dimension::Gender => l.gender[i],
            // Folded into bands at the period's end afterwards.
            Dimension::AgeBand => l.birth_year[i] as u32,
            Dimension::EmploymentStatus => l.employment[i],
            Dimension::Organization => l.organization[i],
        };
        f(attribute)
    }

    fn of_enrollment(&self, e: u32, f: impl FnMut(u32)) {
        let en = &self.model.enrollments;
        self.of(en.learner[e as usize], en.course[e as usize], f)
    }

    fn key(&self, k: u32) -> String {
        let m = self.model;
        match self.dimension {
            Dimension::Course => m.catalog.courses.name(k).to_owned(),
            Dimension::Skill => m.catalog.skills.name(k).to_owned(),
            Dimension::AgeBand => (k as i32).to_string(),
            _ => m.learners.values.name(k).to_owned(),
        }
    }

    /// Course code and title, skill name; the key itself otherwise.
    fn label(&self, key: &str) -> String {
        let c = &self.model.catalog;
        match self.dimension {
            Dimension::Course => c.courses.get(key).map(|k| c.course_label(k)),
            Dimension::Skill => c.skills.get(key).map(|k| c.skill_label(k)),
            _ => None,
        }
        .unwrap_or_else(|| key.to_owned())
    }
}

/// Learners new in the period, per key: registered (or, for a program,
/// first enrolled in it) in the period; for COURSE and SKILL, whose first
/// enrollment in that course (or a course with that skill) is in it.
fn new_learners(model: &Model, scope: &Scope, period: &Period, keys: &Keys<'_>, tally: &mut Tally) {
    let range = days(period);
    let e = &model.enrollments;
    let in_scope = |i: &&u32| scope.includes(e.program[**i as usize]);
    match (keys.dimension, scope.program) {
        (Dimension::Course, _) => {
            for (_, list) in e.by_enrolled.range(range) {
                for &i in list.iter().filter(in_scope) {
                    if e.is_first_in_course(i, scope.program.is_some()) {
                        tally.at(e.course[i as usize]).new_learners += 1;
                    }
                }
            }
        }
        (Dimension::Skill, _) => {
            for (_, list) in e.by_enrolled.range(range) {
                for &i in list.iter().filter(in_scope) {
                    keys.of_enrollment(i, |k| {
                        if first_with_key(model, scope, keys, i, k) {
                            tally.at(k).new_learners += 1;
                        }
                    });
                }
            }
        }
        (_, None) => {
            for (_, list) in model.learners.by_register.range(range) {
                for &l in list {
                    keys.of(l, 0, |k| tally.at(k).new_learners += 1);
                }
            }
        }
        (_, Some(p)) => {
            let by_day = model.scopes.members_by_day.get(&p);
            for (_, list) in by_day.into_iter().flat_map(|m| m.range(range.clone())) {
                for &l in list {
                    keys.of(l, 0, |k| tally.at(k).new_learners += 1);
                }
            }
        }
    }
}

/// Whether enrollment `i` is its learner's first in scope with skill `k`
/// (earliest day, then the earliest applied, so one enrollment answers).
fn first_with_key(model: &Model, scope: &Scope, keys: &Keys<'_>, i: u32, k: u32) -> bool {
    let e = &model.enrollments;
    let learner = e.learner[i as usize];
    let mine = (e.enrolled[i as usize], i);
    let head = model.learners.enrollments_head[learner as usize];
    !e.of_learner(head).any(|other| {
        if other == i || !scope.includes(e.program[other as usize]) {
            return false;
        }
        if (e.enrolled[other as usize], other) >= mine {
            return false;
        }
        let mut shares = false;
        keys.of_enrollment(other, |o| shares |= o == k);
        shares
    })
}

/// Values listed even when zero: the closed sets.
fn all_values(dimension: Dimension) -> Vec<String> {
    match dimension {
        Dimension::Region => Region::ALL.iter().map(|r| r.to_string()).collect(),
        Dimension::Gender => Gender::ALL.iter().map(|g| g.as_str().to_owned()).collect(),
        Dimension::EmploymentStatus => EmploymentStatus::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Folds per-birth-year rows into age bands at the period's end.
fn age_bands(period: &Period, years: BTreeMap<String, Row>) -> Vec<Row> {
    let bands = [
        AgeBand::From15To24,
        AgeBand::From25To34,
        AgeBand::From35To44,
        AgeBand::From45To54,
        AgeBand::From55To64,
        AgeBand::From65,
    ];
    let mut rows: Vec<Row> = bands
        .iter()
        .map(|b| Row {
            key: b.label().to_owned(),
            label: b.label().to_owned(),
            ..Default::default()
        })
        .collect();
    for (year, figures) in years {
        let Ok(birth_year) = year.parse::<i32>() else {
            continue;
        };
        // Registration needs age 15, so younger bands can only come from a
        // period ending before the learner turned 15: count them as 15-24.
        let band = match AgeBand::at(birth_year, period.end) {
            AgeBand::Under15 => AgeBand::From15To24,
            band => band,
        };
        let Some(row) = rows.iter_mut().find(|r| r.key == band.label()) else {
            continue;
        };
        row.new_learners += figures.new_learners;
        row.enrollments += figures.enrollments;
        row.completions += figures.completions;
        row.completed_of_created += figures.completed_of_created;
        row.learning_minutes += figures.learning_minutes;
    }
    rows
}
