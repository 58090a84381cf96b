//! Per-day figures of each scope (the platform, and each program): additive
//! counters summed over a range, and the set of learners active each day as
//! a roaring bitmap, whose union over a range counts distinct learners
//! exactly (how Pinot's DISTINCTCOUNTBITMAP and Druid answer the same
//! question).

use roaring::{MultiOps, RoaringBitmap};
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use super::Day;
use super::learners::Firsts;
use super::names::NONE;

/// Additive figures of one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Registered (platform) or first enrolled in the program that day.
    pub new_members: i64,
    pub enrollments: i64,
    pub completions: i64,
    pub certificates: i64,
    pub minutes: i64,
    /// Program invitations made that day (issue #17, item 4).
    pub invited: i64,
    /// Program invitations joined that day.
    pub joined: i64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.new_members += other.new_members;
        self.enrollments += other.enrollments;
        self.completions += other.completions;
        self.certificates += other.certificates;
        self.minutes += other.minutes;
        self.invited += other.invited;
        self.joined += other.joined;
    }
}

/// One scope's days.
#[derive(Debug, Default)]
pub struct ScopeDays {
    pub counts: BTreeMap<Day, Counts>,
    pub active: BTreeMap<Day, RoaringBitmap>,
    /// Completed enrollments by the day they were created, then by the day
    /// they completed: "of the enrollments created in a period, those
    /// completed by its end" without visiting each enrollment.
    pub completed_by_created: BTreeMap<Day, BTreeMap<Day, i64>>,
}

impl ScopeDays {
    pub fn count(&mut self, day: Day) -> &mut Counts {
        self.counts.entry(day).or_default()
    }

    /// Drops a day whose figures all went back to zero.
    pub fn tidy(&mut self, day: Day) {
        if self.counts.get(&day) == Some(&Counts::default()) {
            self.counts.remove(&day);
        }
    }

    pub fn mark_active(&mut self, day: Day, learner: u32) {
        self.active.entry(day).or_default().insert(learner);
    }

    /// The counters summed over `days`.
    pub fn sum(&self, days: RangeInclusive<Day>) -> Counts {
        let mut total = Counts::default();
        for c in self.counts.range(days).map(|(_, c)| c) {
            total.add(c);
        }
        total
    }

    /// Distinct learners active on any day of `days`: one multi-way union
    /// (container by container), not a chain of pairwise ones.
    pub fn active_learners(&self, days: RangeInclusive<Day>) -> u64 {
        self.active.range(days).map(|(_, s)| s).union().len()
    }

    /// Adds `delta` completions of enrollments created on `created` and
    /// completed on `completed`.
    pub fn adjust_completion(&mut self, created: Day, completed: Day, delta: i64) {
        let by_day = self.completed_by_created.entry(created).or_default();
        let n = by_day.entry(completed).or_default();
        *n += delta;
        if *n == 0 {
            by_day.remove(&completed);
        }
        if by_day.is_empty() {
            self.completed_by_created.remove(&created);
        }
    }

    /// Moves one completion of an enrollment created on `created` from the
    /// day `from` (NEVER: none) to `to` (NEVER: none).
    pub fn move_completion(&mut self, created: Day, from: Day, to: Day) {
        if from != super::NEVER {
            self.adjust_completion(created, from, -1);
        }
        if to != super::NEVER {
            self.adjust_completion(created, to, 1);
        }
    }

    /// Enrollments created in `created` and completed by `by`.
    pub fn completed_of_created(&self, created: RangeInclusive<Day>, by: Day) -> i64 {
        self.completed_by_created
            .range(created)
            .map(|(_, by_day)| by_day.range(..=by).map(|(_, n)| n).sum::<i64>())
            .sum()
    }
}

/// The platform's days and each program's, with program members' funnel
/// days.
#[derive(Debug, Default)]
pub struct Scopes {
    pub platform: ScopeDays,
    pub programs: HashMap<u32, ScopeDays>,
    /// Per program, per learner number: the first day of each stage in it
    /// (the first enrollment makes the learner a member; NEVER for the
    /// learners who are not). Dense, so a program's funnel reads an index
    /// per cohort member, not a hash.
    pub members: HashMap<u32, Vec<Firsts>>,
    /// Per program, its members by the day they became members.
    pub members_by_day: HashMap<u32, BTreeMap<Day, Vec<u32>>>,
}

impl Scopes {
    /// The platform's days, and the program's when there is one.
    pub fn each(&mut self, program: u32, mut f: impl FnMut(&mut ScopeDays)) {
        f(&mut self.platform);
        if program != NONE {
            f(self.programs.entry(program).or_default());
        }
    }

    pub fn of(&self, program: Option<u32>) -> Option<&ScopeDays> {
        match program {
            None => Some(&self.platform),
            Some(p) => self.programs.get(&p),
        }
    }

    /// Records that `learner` is a member of `program` from `day` (and no
    /// longer from `before`, a later day, when there was one).
    pub fn move_member(&mut self, program: u32, learner: u32, before: Day, day: Day) {
        let by_day = self.members_by_day.entry(program).or_default();
        if before != super::NEVER
            && let Some(list) = by_day.get_mut(&before)
        {
            list.retain(|&l| l != learner);
            if list.is_empty() {
                by_day.remove(&before);
            }
        }
        by_day.entry(day).or_default().push(learner);
    }

    pub fn member(&mut self, program: u32, learner: u32) -> &mut Firsts {
        let members = self.members.entry(program).or_default();
        let i = learner as usize;
        if i >= members.len() {
            members.resize(i + 1, Firsts::default());
        }
        &mut members[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_learners_over_a_range_count_each_learner_once() {
        let mut days = ScopeDays::default();
        days.mark_active(10, 1);
        days.mark_active(11, 1);
        days.mark_active(11, 2);
        days.mark_active(20, 3);
        assert_eq!(days.active_learners(10..=11), 2);
        assert_eq!(days.active_learners(10..=20), 3);
        assert_eq!(days.active_learners(12..=19), 0);
    }

    #[test]
    fn counters_sum_over_the_range_only() {
        let mut days = ScopeDays::default();
        days.count(1).enrollments += 2;
        days.count(5).enrollments += 3;
        days.count(9).minutes += 7;
        let s = days.sum(1..=5);
        assert_eq!((s.enrollments, s.minutes), (5, 0));
        days.count(9).minutes -= 7;
        days.tidy(9);
        assert!(!days.counts.contains_key(&9));
    }
}
