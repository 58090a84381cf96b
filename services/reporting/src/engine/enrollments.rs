//! Enrollments as columns indexed by a dense enrollment number, with the
//! day indexes reports scan (created, completed, certified).

use std::collections::BTreeMap;

use super::names::NONE;
use super::{Day, NEVER};

#[derive(Debug, Default)]
pub struct Enrollments {
    pub learner: Vec<u32>,
    pub course: Vec<u32>,
    /// NONE outside any program.
    pub program: Vec<u32>,
    pub enrolled: Vec<Day>,
    pub completed: Vec<Day>,
    pub certified: Vec<Day>,
    /// The enrollment id's fingerprint, to find it among its learner's.
    pub fingerprint: Vec<u64>,
    /// The learner's previous enrollment (NONE at the end of the list).
    pub next_of_learner: Vec<u32>,
    /// Whether the enrollment is its learner's first in its course (earliest
    /// day, then earliest applied): bit 0 among all their enrollments, bit 1
    /// among those in the same program. Enrollment days never change, so
    /// the flags are set once per new enrollment.
    pub first_in_course: Vec<u8>,
    pub by_enrolled: BTreeMap<Day, Vec<u32>>,
    pub by_completed: BTreeMap<Day, Vec<u32>>,
    pub by_certified: BTreeMap<Day, Vec<u32>>,
}

/// What a new enrollment did to a first-in-course flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstChange {
    /// An earlier enrollment keeps it.
    Kept,
    /// The new enrollment is the first one.
    First,
    /// The new enrollment took it from this (later) one.
    TakenFrom(u32),
}

pub const FIRST_OVERALL: u8 = 1;
pub const FIRST_IN_PROGRAM: u8 = 2;

/// A new enrollment's columns.
#[derive(Debug, Clone, Copy)]
pub struct NewEnrollment {
    pub learner: u32,
    pub course: u32,
    pub program: u32,
    pub enrolled: Day,
    pub fingerprint: u64,
}

/// Which of an enrollment's later days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    Completed,
    Certified,
}

impl Enrollments {
    /// Adds an enrollment at the head of its learner's list.
    pub fn push(&mut self, e: NewEnrollment, head: &mut u32) -> u32 {
        let i = self.learner.len() as u32;
        self.learner.push(e.learner);
        self.course.push(e.course);
        self.program.push(e.program);
        self.enrolled.push(e.enrolled);
        self.completed.push(NEVER);
        self.certified.push(NEVER);
        self.fingerprint.push(e.fingerprint);
        self.next_of_learner.push(*head);
        self.first_in_course.push(0);
        *head = i;
        self.by_enrolled.entry(e.enrolled).or_default().push(i);
        i
    }

    /// Sets the first-in-course flags for a new enrollment `e` (already at
    /// the head of its learner's list), taking them from the one that had
    /// them when `e` comes earlier. For each flag (platform, program): the
    /// enrollment that lost it, if `e` took it.
    pub fn mark_first_in_course(&mut self, e: u32) -> [FirstChange; 2] {
        let i = e as usize;
        let (course, program) = (self.course[i], self.program[i]);
        let mine = (self.enrolled[i], e);
        let mut changes = [FirstChange::Kept; 2];
        for (slot, (bit, same_program)) in [(FIRST_OVERALL, false), (FIRST_IN_PROGRAM, true)]
            .into_iter()
            .enumerate()
        {
            let holder = self.of_learner(e).skip(1).find(|&o| {
                let o = o as usize;
                self.course[o] == course
                    && (!same_program || self.program[o] == program)
                    && self.first_in_course[o] & bit != 0
            });
            changes[slot] = match holder {
                Some(h) if (self.enrolled[h as usize], h) < mine => FirstChange::Kept,
                Some(h) => {
                    self.first_in_course[h as usize] &= !bit;
                    self.first_in_course[i] |= bit;
                    FirstChange::TakenFrom(h)
                }
                None => {
                    self.first_in_course[i] |= bit;
                    FirstChange::First
                }
            };
        }
        changes
    }

    /// The learner's enrollments, newest first.
    pub fn of_learner(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors((head != NONE).then_some(head), move |&e| {
            let next = self.next_of_learner[e as usize];
            (next != NONE).then_some(next)
        })
    }

    /// The learner's enrollment with this fingerprint.
    pub fn find(&self, head: u32, fingerprint: u64) -> Option<u32> {
        self.of_learner(head)
            .find(|&e| self.fingerprint[e as usize] == fingerprint)
    }

    pub fn day(&self, e: u32, milestone: Milestone) -> Day {
        match milestone {
            Milestone::Completed => self.completed[e as usize],
            Milestone::Certified => self.certified[e as usize],
        }
    }

    /// Dates a milestone (a later event for it replaces the day, as the
    /// projection's UPDATE does). The day it had before, if any.
    pub fn set_day(&mut self, e: u32, milestone: Milestone, day: Day) -> Day {
        let (column, index) = match milestone {
            Milestone::Completed => (&mut self.completed, &mut self.by_completed),
            Milestone::Certified => (&mut self.certified, &mut self.by_certified),
        };
        let old = std::mem::replace(&mut column[e as usize], day);
        if old != NEVER
            && let Some(list) = index.get_mut(&old)
        {
            list.retain(|&x| x != e);
            if list.is_empty() {
                index.remove(&old);
            }
        }
        index.entry(day).or_default().push(e);
        old
    }

    pub fn len(&self) -> usize {
        self.learner.len()
    }

    /// Gives back the growth slack of the columns (after a load).
    pub fn shrink_to_fit(&mut self) {
        self.learner.shrink_to_fit();
        self.course.shrink_to_fit();
        self.program.shrink_to_fit();
        self.enrolled.shrink_to_fit();
        self.completed.shrink_to_fit();
        self.certified.shrink_to_fit();
        self.fingerprint.shrink_to_fit();
        self.next_of_learner.shrink_to_fit();
        self.first_in_course.shrink_to_fit();
        for index in [
            &mut self.by_enrolled,
            &mut self.by_completed,
            &mut self.by_certified,
        ] {
            index.values_mut().for_each(Vec::shrink_to_fit);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.learner.is_empty()
    }
}
