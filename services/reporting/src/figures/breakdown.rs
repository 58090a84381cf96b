//! Figures of a period split by one dimension. Learner dimensions group by
//! each learner's current attributes; course and skill rows may overlap.

use academy_domain::learner::{UNKNOWN, UNKNOWN_BIRTH_YEAR};
use academy_domain::{AgeBand, EducationLevel, EmploymentStatus, Gender, Period, Region};
use std::collections::BTreeMap;

use super::slice::Slice;
use super::{Scope, crosstab, days};
use crate::engine::cube::Axis;
use crate::engine::names::NONE;
use crate::engine::scopes::ScopeDays;
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
    EducationLevel,
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
    /// Program invitations made in the period (issue #17, item 4).
    pub invited: i64,
    /// Program invitations joined in the period.
    pub joined: i64,
}

/// The breakdown of `dimension`; over `slice`'s learners only when given
/// (not for SKILL: the caller refuses that).
pub fn breakdown(
    model: &Model,
    scope: &Scope,
    period: &Period,
    dimension: Dimension,
    slice: Option<&Slice>,
) -> Vec<Row> {
    let scope_key = scope.program.unwrap_or(NONE);
    let range = days(period);
    let end = day_of(period.end);
    let figures = |cell: &ScopeDays| {
        let sums = cell.sum(range.clone());
        Row {
            new_learners: sums.new_members,
            enrollments: sums.enrollments,
            completions: sums.completions,
            completed_of_created: cell.completed_of_created(range.clone(), end),
            learning_minutes: sums.minutes,
            invited: sums.invited,
            joined: sums.joined,
            ..Row::default()
        }
    };
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    match axis(dimension) {
        Some(axis) if let Some(slice) = slice => {
            let by_course = dimension == Dimension::Course;
            let cells = crosstab::tally(model, scope, period, by_course, |learner, course| {
                slice
                    .admits(model, learner)
                    .then(|| (crosstab::value(model, dimension, learner, course), 0))
            });
            for ((value, _), t) in cells {
                rows.insert(
                    key(model, axis, value),
                    Row {
                        new_learners: t.new_learners,
                        enrollments: t.enrollments,
                        completions: t.completions,
                        completed_of_created: t.completed_of_created,
                        learning_minutes: t.learning_minutes,
                        ..Row::default()
                    },
                );
            }
            if !by_course {
                sliced_reach(model, scope, period, dimension, axis, slice, &mut rows);
            }
        }
        Some(axis) => {
            for (value, cell) in model.cube.values(scope_key, axis) {
                let row = figures(cell);
                if !is_empty(&row) {
                    rows.insert(key(model, axis, value), row);
                }
            }
        }
        // A skill's figures are its courses' (as they are now), and its new
        // learners those whose first enrollment with the skill is new.
        None => {
            for (course, cell) in model.cube.values(scope_key, Axis::Course) {
                let row = figures(cell);
                for &skill in model.catalog.skills_of(course) {
                    let total = rows
                        .entry(model.catalog.skills.name(skill).to_owned())
                        .or_default();
                    total.enrollments += row.enrollments;
                    total.completions += row.completions;
                    total.completed_of_created += row.completed_of_created;
                    total.learning_minutes += row.learning_minutes;
                }
            }
            for (skill, n) in new_by_skill(model, scope, period) {
                rows.entry(model.catalog.skills.name(skill).to_owned())
                    .or_default()
                    .new_learners += n;
            }
            rows.retain(|_, row| !is_empty(row));
        }
    }
    if dimension == Dimension::AgeBand {
        return age_bands(period, rows);
    }
    for key in all_values(dimension) {
        rows.entry(key).or_default();
    }
    rows.into_iter()
        .map(|(key, row)| Row {
            label: label(model, dimension, &key),
            key,
            ..row
        })
        .collect()
}

/// Where a dimension's cells are (none for SKILL: derived from courses).
fn axis(dimension: Dimension) -> Option<Axis> {
    match dimension {
        Dimension::Region => Some(Axis::Region),
        Dimension::Gender => Some(Axis::Gender),
        Dimension::AgeBand => Some(Axis::BirthYear),
        Dimension::EmploymentStatus => Some(Axis::Employment),
        Dimension::Organization => Some(Axis::Organization),
        Dimension::Course => Some(Axis::Course),
        Dimension::Skill => None,
        Dimension::EducationLevel => Some(Axis::Education),
    }
}

/// Invitations over a slice's learners, by the invitee's current value
/// (an invitee without a learner record is in no slice).
fn sliced_reach(
    model: &Model,
    scope: &Scope,
    period: &Period,
    dimension: Dimension,
    axis: Axis,
    slice: &Slice,
    rows: &mut BTreeMap<String, Row>,
) {
    let range = days(period);
    let inv = &model.invitations;
    for i in 0..inv.len() {
        let learner = inv.learner[i];
        if !scope.includes(inv.program[i]) || learner == NONE || !slice.admits(model, learner) {
            continue;
        }
        let (invited, joined) = (
            range.contains(&inv.invited[i]),
            range.contains(&inv.joined[i]),
        );
        if !invited && !joined {
            continue;
        }
        let value = crosstab::value(model, dimension, learner, NONE);
        let row = rows.entry(key(model, axis, value)).or_default();
        row.invited += i64::from(invited);
        row.joined += i64::from(joined);
    }
}

fn is_empty(row: &Row) -> bool {
    row.invited == 0
        && row.joined == 0
        && row.new_learners == 0
        && row.enrollments == 0
        && row.completions == 0
        && row.completed_of_created == 0
        && row.learning_minutes == 0
}

/// A value number back to the key a breakdown shows.
fn key(model: &Model, axis: Axis, value: u32) -> String {
    match axis {
        Axis::Course => model.catalog.courses.name(value).to_owned(),
        // Folded into bands at the period's end afterwards.
        Axis::BirthYear => (value as i32).to_string(),
        _ => model.learners.values.name(value).to_owned(),
    }
}

/// Course code and title, skill name; the key itself otherwise.
fn label(model: &Model, dimension: Dimension, key: &str) -> String {
    let c = &model.catalog;
    match dimension {
        Dimension::Course => c.courses.get(key).map(|k| c.course_label(k)),
        Dimension::Skill => c.skills.get(key).map(|k| c.skill_label(k)),
        _ => None,
    }
    .unwrap_or_else(|| key.to_owned())
}

/// Learners whose first enrollment in scope with each skill (through the
/// courses' current skills) is in the period. Skills move between courses,
/// so this is counted from the period's enrollments, not kept in cells.
fn new_by_skill(model: &Model, scope: &Scope, period: &Period) -> BTreeMap<u32, i64> {
    let e = &model.enrollments;
    let mut counts = BTreeMap::new();
    for (_, list) in e.by_enrolled.range(days(period)) {
        for &i in list
            .iter()
            .filter(|&&i| scope.includes(e.program[i as usize]))
        {
            for &skill in model.catalog.skills_of(e.course[i as usize]) {
                if first_with_skill(model, scope, i, skill) {
                    *counts.entry(skill).or_default() += 1;
                }
            }
        }
    }
    counts
}

/// Whether enrollment `i` is its learner's first in scope with `skill`
/// (earliest day, then the earliest applied, so one enrollment answers).
fn first_with_skill(model: &Model, scope: &Scope, i: u32, skill: u32) -> bool {
    let e = &model.enrollments;
    let learner = e.learner[i as usize];
    let mine = (e.enrolled[i as usize], i);
    let head = model.learners.enrollments_head[learner as usize];
    !e.of_learner(head).any(|other| {
        let o = other as usize;
        other != i
            && scope.includes(e.program[o])
            && (e.enrolled[o], other) < mine
            && model.catalog.skills_of(e.course[o]).contains(&skill)
    })
}

/// Values listed even when zero: the closed sets, and "unknown" for the
/// attributes that may be recorded as not known.
fn all_values(dimension: Dimension) -> Vec<String> {
    let known: Vec<String> = match dimension {
        Dimension::Region => Region::ALL.iter().map(|r| r.to_string()).collect(),
        Dimension::Gender => Gender::ALL.iter().map(|g| g.as_str().to_owned()).collect(),
        Dimension::EmploymentStatus => EmploymentStatus::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        Dimension::EducationLevel => EducationLevel::all()
            .map(|e| e.as_str().to_owned())
            .collect(),
        _ => return Vec::new(),
    };
    known.into_iter().chain([UNKNOWN.to_owned()]).collect()
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
        .chain([Row {
            key: UNKNOWN.to_owned(),
            label: UNKNOWN.to_owned(),
            ..Default::default()
        }])
        .collect();
    for (year, figures) in years {
        let Ok(birth_year) = year.parse::<i32>() else {
            continue;
        };
        // Registration needs age 15, so younger bands can only come from a
        // period ending before the learner turned 15: count them as 15-24.
        let band = match AgeBand::at(birth_year, period.end) {
            _ if birth_year == UNKNOWN_BIRTH_YEAR => UNKNOWN,
            AgeBand::Under15 => AgeBand::From15To24.label(),
            band => band.label(),
        };
        let Some(row) = rows.iter_mut().find(|r| r.key == band) else {
            continue;
        };
        row.new_learners += figures.new_learners;
        row.enrollments += figures.enrollments;
        row.completions += figures.completions;
        row.completed_of_created += figures.completed_of_created;
        row.learning_minutes += figures.learning_minutes;
        row.invited += figures.invited;
        row.joined += figures.joined;
    }
    rows
}
