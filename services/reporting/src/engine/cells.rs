//! Keeping the breakdown cells (`cube.rs`) equal to a recount: what each
//! change adds to the cells of a learner's current attribute values and of
//! the course, and what a learner's whole history contributes when their
//! attributes change.

use academy_domain::learner::{UNKNOWN, UNKNOWN_BIRTH_YEAR};

use super::cube::Axis;
use super::enrollments::Milestone;
use super::model::Model;
use super::names::NONE;
use super::scopes::{Counts, ScopeDays};
use super::{Day, NEVER};

/// Scope keys without allocating: the platform, and the program when
/// there is one.
#[derive(Debug, Clone, Copy)]
pub(super) struct ScopeKeys {
    keys: [u32; 2],
    len: usize,
}

impl ScopeKeys {
    fn as_slice(&self) -> &[u32] {
        &self.keys[..self.len]
    }
}

fn scopes_of(program: u32) -> ScopeKeys {
    if program == NONE {
        ScopeKeys {
            keys: [NONE, NONE],
            len: 1,
        }
    } else {
        ScopeKeys {
            keys: [NONE, program],
            len: 2,
        }
    }
}

fn field(c: &mut Counts, m: Milestone) -> &mut i64 {
    match m {
        Milestone::Completed => &mut c.completions,
        Milestone::Certified => &mut c.certificates,
    }
}

/// Moves a milestone of an enrollment created on `created` from `old` to
/// `day` in one cell (or in a scope's days).
pub(super) fn move_milestone(s: &mut ScopeDays, m: Milestone, created: Day, old: Day, day: Day) {
    if old != NEVER {
        *field(s.count(old), m) -= 1;
        s.tidy(old);
    }
    *field(s.count(day), m) += 1;
    if m == Milestone::Completed {
        s.move_completion(created, old, day);
    }
}

/// Adds `delta` to one day's counter in a cell, dropping the day at zero.
fn add(s: &mut ScopeDays, day: Day, delta: i64, pick: fn(&mut Counts) -> &mut i64) {
    *pick(s.count(day)) += delta;
    s.tidy(day);
}

/// One enrollment's columns, copied out before the cells are changed.
struct Enrolled {
    program: u32,
    enrolled: Day,
    completed: Day,
    certified: Day,
}

impl Model {
    /// Applies `f` to the cells of a registered learner's current attribute
    /// values in each of `scopes`; nothing for an unregistered learner (the
    /// tables' join with `r_learners` leaves them out of these breakdowns).
    pub(super) fn learner_cells(
        &mut self,
        learner: u32,
        scopes: &[u32],
        f: impl Fn(&mut ScopeDays),
    ) {
        if !self.learners.is_registered(learner) {
            return;
        }
        let values = self.learners.axis_values(learner);
        for &scope in scopes {
            for (axis, value) in Axis::LEARNER.into_iter().zip(values) {
                f(self.cube.cell(scope, axis, value));
            }
        }
    }

    /// Applies `f` to the course's cells on the platform and in `program`.
    pub(super) fn course_cells(&mut self, course: u32, program: u32, f: impl Fn(&mut ScopeDays)) {
        for &scope in scopes_of(program).as_slice() {
            f(self.cube.cell(scope, Axis::Course, course));
        }
    }

    pub(super) fn cells_enrolled(&mut self, learner: u32, course: u32, program: u32, day: Day) {
        let bump = |s: &mut ScopeDays| s.count(day).enrollments += 1;
        self.course_cells(course, program, bump);
        self.learner_cells(learner, scopes_of(program).as_slice(), bump);
    }

    pub(super) fn cells_progress(
        &mut self,
        learner: u32,
        course: u32,
        program: u32,
        day: Day,
        minutes: i64,
    ) {
        let bump = |s: &mut ScopeDays| s.count(day).minutes += minutes;
        self.course_cells(course, program, bump);
        self.learner_cells(learner, scopes_of(program).as_slice(), bump);
    }

    pub(super) fn cells_milestone(&mut self, e: u32, m: Milestone, old: Day, day: Day) {
        let i = e as usize;
        let (learner, course, program, created) = (
            self.enrollments.learner[i],
            self.enrollments.course[i],
            self.enrollments.program[i],
            self.enrollments.enrolled[i],
        );
        let change = |s: &mut ScopeDays| move_milestone(s, m, created, old, day);
        self.course_cells(course, program, change);
        self.learner_cells(learner, scopes_of(program).as_slice(), change);
    }

    /// A learner became a program member on `day` (earlier than `before`).
    pub(super) fn cells_member(&mut self, learner: u32, program: u32, before: Day, day: Day) {
        self.learner_cells(learner, &[program], |s| {
            if before != NEVER {
                add(s, before, -1, |c| &mut c.new_members);
            }
            s.count(day).new_members += 1;
        });
    }

    /// The course's new learners: first enrollments in it, on the platform
    /// (`within_program` false) or in the enrollment's program.
    pub(super) fn cells_first_in_course(&mut self, e: u32, within_program: bool, delta: i64) {
        let i = e as usize;
        let (course, program, day) = (
            self.enrollments.course[i],
            self.enrollments.program[i],
            self.enrollments.enrolled[i],
        );
        let scope = if within_program { program } else { NONE };
        if within_program && program == NONE {
            return;
        }
        add(
            self.cube.cell(scope, Axis::Course, course),
            day,
            delta,
            |c| &mut c.new_members,
        );
    }

    /// Adds (`sign` 1) or removes (-1) everything a registered learner
    /// contributes to the cells of their current attribute values: their
    /// registration, program memberships, enrollments and progress.
    pub(super) fn contribute(&mut self, learner: u32, sign: i64) {
        if !self.learners.is_registered(learner) {
            return;
        }
        let registered = self.learners.register[learner as usize];
        self.learner_cells(learner, &[NONE], |s| {
            add(s, registered, sign, |c| &mut c.new_members)
        });
        let head = self.learners.enrollments_head[learner as usize];
        let enrolled: Vec<Enrolled> = self
            .enrollments
            .of_learner(head)
            .map(|e| {
                let i = e as usize;
                Enrolled {
                    program: self.enrollments.program[i],
                    enrolled: self.enrollments.enrolled[i],
                    completed: self.enrollments.completed[i],
                    certified: self.enrollments.certified[i],
                }
            })
            .collect();
        let mut programs: Vec<u32> = enrolled
            .iter()
            .map(|e| e.program)
            .filter(|&p| p != NONE)
            .collect();
        programs.sort_unstable();
        programs.dedup();
        for program in programs {
            let first = self.scopes.member(program, learner).enrolled;
            if first != NEVER {
                self.learner_cells(learner, &[program], |s| {
                    add(s, first, sign, |c| &mut c.new_members)
                });
            }
        }
        for e in enrolled {
            self.learner_cells(learner, scopes_of(e.program).as_slice(), |s| {
                add(s, e.enrolled, sign, |c| &mut c.enrollments);
                if e.completed != NEVER {
                    add(s, e.completed, sign, |c| &mut c.completions);
                    s.adjust_completion(e.enrolled, e.completed, sign);
                }
                if e.certified != NEVER {
                    add(s, e.certified, sign, |c| &mut c.certificates);
                }
            });
        }
        let progress = self.activity.of(learner).to_vec();
        for p in progress {
            self.learner_cells(learner, scopes_of(p.program).as_slice(), |s| {
                add(s, p.day, sign * p.minutes, |c| &mut c.minutes)
            });
        }
        for invitation in self.invitations.of(learner) {
            self.cells_invitation(invitation, sign);
        }
    }

    /// Adds (`sign` 1) or removes (-1) an invitation's figures (invited,
    /// joined) in the cells of its invitee's current attribute values, or
    /// of the `unknown` values while the invitee is not a registered
    /// learner (issue #17, item 4).
    pub(super) fn cells_invitation(&mut self, invitation: u32, sign: i64) {
        let i = invitation as usize;
        let (program, learner, invited, joined) = (
            self.invitations.program[i],
            self.invitations.learner[i],
            self.invitations.invited[i],
            self.invitations.joined[i],
        );
        let change = |s: &mut ScopeDays| {
            add(s, invited, sign, |c| &mut c.invited);
            if joined != NEVER {
                add(s, joined, sign, |c| &mut c.joined);
            }
        };
        let scopes = scopes_of(program);
        if learner != NONE && self.learners.is_registered(learner) {
            self.learner_cells(learner, scopes.as_slice(), change);
            return;
        }
        let values = self.unknown_values();
        for &scope in scopes.as_slice() {
            for (axis, value) in Axis::LEARNER.into_iter().zip(values) {
                change(self.cube.cell(scope, axis, value));
            }
        }
    }

    /// The value of "not known" on each learner axis (`Axis::LEARNER`
    /// order): what a learner registered with nothing known has.
    fn unknown_values(&mut self) -> [u32; 6] {
        let unknown = self.learners.values.intern(UNKNOWN);
        let no_organization = self.learners.values.intern("");
        [
            unknown,
            unknown,
            UNKNOWN_BIRTH_YEAR as u32,
            unknown,
            no_organization,
            unknown,
        ]
    }
}
