//! The test's own record of what it generated, and the report figures
//! computed from it directly, by the definitions in ARCHITECTURE.md.

use academy_domain::{AgeBand, Period};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashSet};

/// A small seeded generator (xorshift64*): same seed, same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
pub struct LearnerFact {
    pub id: String,
    pub register_day: NaiveDate,
    pub region: String,
    pub gender: String,
    pub birth_year: i32,
    pub employment: String,
    pub organization: String,
    /// "ISCED_0" to "ISCED_8" or "unknown".
    pub education: String,
}

#[derive(Debug, Clone)]
pub struct EnrollmentFact {
    /// The enrollment's id (a merge folds some away by id).
    pub id: String,
    pub learner: String,
    pub course: String,
    pub program: String,
    pub enroll_day: NaiveDate,
    pub complete_day: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct ActivityFact {
    pub learner: String,
    pub program: String,
    pub course: String,
    pub day: NaiveDate,
    pub minutes: i64,
}

/// A program invitation (issue #17, item 4).
#[derive(Debug, Clone)]
pub struct InvitationFact {
    pub id: String,
    pub program: String,
    /// None while the invitee is not a learner.
    pub learner: Option<String>,
    pub invite_day: NaiveDate,
    pub join_day: Option<NaiveDate>,
    /// DECLINED: an enrollment does not join it any more.
    pub declined: bool,
}

#[derive(Debug, Default)]
pub struct Model {
    pub learners: Vec<LearnerFact>,
    pub enrollments: Vec<EnrollmentFact>,
    pub activity: Vec<ActivityFact>,
    pub course_skills: BTreeMap<String, Vec<String>>,
    pub invitations: Vec<InvitationFact>,
}

/// The headline figures the service must report.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub registered: i64,
    pub new: i64,
    pub active: i64,
    pub enrollments: i64,
    pub completions: i64,
    pub completed_of_created: i64,
    pub minutes: i64,
    /// Invitations made in the period.
    pub invited: i64,
    /// Invitations joined in the period.
    pub joined: i64,
}

/// One breakdown row's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowFigures {
    pub new: i64,
    pub enrollments: i64,
    pub completions: i64,
    pub completed_of_created: i64,
    pub minutes: i64,
}

impl RowFigures {
    /// A breakdown answer's non-empty rows, by key, as figures.
    pub fn of_rows(
        rows: &[academy_proto::reporting::BreakdownRow],
    ) -> BTreeMap<String, RowFigures> {
        rows.iter()
            .filter(|r| {
                r.new_learners + r.enrollments + r.completions > 0 || r.learning_hours > 0.0
            })
            .map(|r| {
                let figures = RowFigures {
                    new: r.new_learners,
                    enrollments: r.enrollments,
                    completions: r.completions,
                    completed_of_created: (r.completion_rate * r.enrollments as f64).round() as i64,
                    minutes: (r.learning_hours * 60.0).round() as i64,
                };
                (r.key.clone(), figures)
            })
            .collect()
    }
}

impl Model {
    /// A merge of `duplicate` into `survivor`, by the rule in
    /// ARCHITECTURE.md: the history is as if the duplicate's enrollments
    /// and progress had always been the survivor's, without the enrollments
    /// folded away and without the duplicate's registration; the survivor
    /// keeps the earlier registration day and its own attributes.
    pub fn merge(&mut self, survivor: &str, duplicate: &str, folded: &[String]) {
        let gone = self
            .learners
            .iter()
            .position(|l| l.id == duplicate)
            .expect("the duplicate is a learner of the model");
        let gone = self.learners.remove(gone);
        let kept = self
            .learners
            .iter_mut()
            .find(|l| l.id == survivor)
            .expect("the survivor is a learner of the model");
        kept.register_day = kept.register_day.min(gone.register_day);
        self.enrollments.retain(|e| !folded.contains(&e.id));
        for e in self
            .enrollments
            .iter_mut()
            .filter(|e| e.learner == duplicate)
        {
            e.learner = survivor.to_owned();
        }
        for a in self.activity.iter_mut().filter(|a| a.learner == duplicate) {
            a.learner = survivor.to_owned();
        }
        // Invitations: where both were invited to a program, the JOINED one
        // stays (else the earlier invitation, then the smaller id); the
        // duplicate's others become the survivor's.
        let of = |i: &InvitationFact, who: &str| i.learner.as_deref() == Some(who);
        let rank = |i: &InvitationFact| (i.join_day.is_none(), i.invite_day, i.id.clone());
        let mut dropped = Vec::new();
        for theirs in self.invitations.iter().filter(|i| of(i, duplicate)) {
            if let Some(ours) = self
                .invitations
                .iter()
                .find(|i| of(i, survivor) && i.program == theirs.program)
            {
                let loser = if rank(theirs) < rank(ours) {
                    ours
                } else {
                    theirs
                };
                dropped.push(loser.id.clone());
            }
        }
        self.invitations.retain(|i| !dropped.contains(&i.id));
        for i in self.invitations.iter_mut().filter(|i| of(i, duplicate)) {
            i.learner = Some(survivor.to_owned());
        }
    }

    /// (invited, joined) in the period and scope.
    pub fn reach(&self, program: Option<&str>, p: &Period) -> (i64, i64) {
        let scoped = || {
            self.invitations
                .iter()
                .filter(move |i| program.is_none_or(|pr| i.program == pr))
        };
        (
            scoped().filter(|i| p.contains(i.invite_day)).count() as i64,
            scoped()
                .filter(|i| i.join_day.is_some_and(|d| p.contains(d)))
                .count() as i64,
        )
    }

    /// (invited, joined) in the period by the invitee's current `key`; an
    /// invitee who is no learner is under `unknown` (and organisation "").
    pub fn reach_by_learner(
        &self,
        program: Option<&str>,
        p: &Period,
        key: impl Fn(&LearnerFact) -> String,
        unknown: &str,
    ) -> BTreeMap<String, (i64, i64)> {
        let mut rows: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for i in self
            .invitations
            .iter()
            .filter(|i| program.is_none_or(|pr| i.program == pr))
        {
            let k = i
                .learner
                .as_deref()
                .and_then(|l| self.learners.iter().find(|x| x.id == l))
                .map_or_else(|| unknown.to_owned(), &key);
            let row = rows.entry(k).or_default();
            row.0 += i64::from(p.contains(i.invite_day));
            row.1 += i64::from(i.join_day.is_some_and(|d| p.contains(d)));
        }
        rows.retain(|_, r| *r != (0, 0));
        rows
    }

    fn in_scope<'a>(
        &'a self,
        program: Option<&'a str>,
    ) -> impl Iterator<Item = &'a EnrollmentFact> + 'a {
        self.enrollments
            .iter()
            .filter(move |e| program.is_none_or(|p| e.program == p))
    }

    /// Day each learner counts from: registration, or first enrollment in the program.
    fn member_days(&self, program: Option<&str>) -> BTreeMap<String, NaiveDate> {
        match program {
            None => self
                .learners
                .iter()
                .map(|l| (l.id.clone(), l.register_day))
                .collect(),
            Some(_) => {
                let mut first: BTreeMap<String, NaiveDate> = BTreeMap::new();
                for e in self.in_scope(program) {
                    let day = first.entry(e.learner.clone()).or_insert(e.enroll_day);
                    *day = (*day).min(e.enroll_day);
                }
                first
            }
        }
    }

    pub fn figures(&self, program: Option<&str>, p: &Period) -> Expected {
        let members = self.member_days(program);
        let activity: Vec<&ActivityFact> = self
            .activity
            .iter()
            .filter(|a| program.is_none_or(|pr| a.program == pr) && p.contains(a.day))
            .collect();
        let created: Vec<&EnrollmentFact> = self
            .in_scope(program)
            .filter(|e| p.contains(e.enroll_day))
            .collect();
        Expected {
            registered: members.values().filter(|d| **d <= p.end).count() as i64,
            new: members.values().filter(|d| p.contains(**d)).count() as i64,
            active: activity
                .iter()
                .map(|a| &a.learner)
                .collect::<HashSet<_>>()
                .len() as i64,
            enrollments: created.len() as i64,
            completions: self
                .in_scope(program)
                .filter(|e| e.complete_day.is_some_and(|d| p.contains(d)))
                .count() as i64,
            completed_of_created: created
                .iter()
                .filter(|e| e.complete_day.is_some_and(|d| d <= p.end))
                .count() as i64,
            minutes: activity.iter().map(|a| a.minutes).sum(),
            invited: self.reach(program, p).0,
            joined: self.reach(program, p).1,
        }
    }

    /// Breakdown by a learner attribute (`key` of the learner), platform-wide.
    pub fn by_learner(
        &self,
        p: &Period,
        key: impl Fn(&LearnerFact) -> String,
    ) -> BTreeMap<String, RowFigures> {
        self.by_learner_in(None, p, key)
    }

    /// Breakdown by a learner attribute in a scope: new learners are the
    /// scope's members new in the period.
    pub fn by_learner_in(
        &self,
        program: Option<&str>,
        p: &Period,
        key: impl Fn(&LearnerFact) -> String,
    ) -> BTreeMap<String, RowFigures> {
        let of: BTreeMap<&str, String> = self
            .learners
            .iter()
            .map(|l| (l.id.as_str(), key(l)))
            .collect();
        let mut rows: BTreeMap<String, RowFigures> = BTreeMap::new();
        for (learner, first) in self.member_days(program) {
            if p.contains(first) {
                rows.entry(of[learner.as_str()].clone()).or_default().new += 1;
            }
        }
        for e in self.in_scope(program) {
            let row = rows.entry(of[e.learner.as_str()].clone()).or_default();
            count_enrollment(row, e, p);
        }
        for a in self.activity_in(program, p) {
            rows.entry(of[a.learner.as_str()].clone())
                .or_default()
                .minutes += a.minutes;
        }
        rows
    }

    fn activity_in<'a>(
        &'a self,
        program: Option<&'a str>,
        p: &'a Period,
    ) -> impl Iterator<Item = &'a ActivityFact> + 'a {
        self.activity
            .iter()
            .filter(move |a| p.contains(a.day) && program.is_none_or(|pr| a.program == pr))
    }

    /// Breakdown by course, platform-wide.
    pub fn by_course(&self, p: &Period) -> BTreeMap<String, RowFigures> {
        self.by_catalog(None, p, |course| vec![course.to_owned()])
    }

    /// Breakdown by course or skill (`keys` of a course) in a scope: a
    /// learner is new for a key when their first enrollment with it is in
    /// the period.
    pub fn by_catalog(
        &self,
        program: Option<&str>,
        p: &Period,
        keys: impl Fn(&str) -> Vec<String>,
    ) -> BTreeMap<String, RowFigures> {
        let mut rows: BTreeMap<String, RowFigures> = BTreeMap::new();
        let mut first: BTreeMap<(String, String), NaiveDate> = BTreeMap::new();
        for e in self.in_scope(program) {
            for key in keys(&e.course) {
                count_enrollment(rows.entry(key.clone()).or_default(), e, p);
                let day = first
                    .entry((key, e.learner.clone()))
                    .or_insert(e.enroll_day);
                *day = (*day).min(e.enroll_day);
            }
        }
        for ((key, _), day) in first {
            if p.contains(day) {
                rows.entry(key).or_default().new += 1;
            }
        }
        for a in self.activity_in(program, p) {
            for key in keys(&a.course) {
                rows.entry(key).or_default().minutes += a.minutes;
            }
        }
        rows
    }

    pub fn skills_of(&self, course: &str) -> Vec<String> {
        self.course_skills.get(course).cloned().unwrap_or_default()
    }

    pub fn age_band(l: &LearnerFact, p: &Period) -> String {
        if l.birth_year == 0 {
            return "unknown".to_owned();
        }
        match AgeBand::at(l.birth_year, p.end) {
            AgeBand::Under15 => AgeBand::From15To24.label().to_owned(),
            band => band.label().to_owned(),
        }
    }
}

fn count_enrollment(row: &mut RowFigures, e: &EnrollmentFact, p: &Period) {
    if p.contains(e.enroll_day) {
        row.enrollments += 1;
        if e.complete_day.is_some_and(|d| d <= p.end) {
            row.completed_of_created += 1;
        }
    }
    if e.complete_day.is_some_and(|d| p.contains(d)) {
        row.completions += 1;
    }
}

impl Model {
    /// The funnel stages for the learners new in `p`.
    pub fn funnel(&self, program: Option<&str>, p: &Period) -> Vec<i64> {
        let cohort: HashSet<String> = self
            .member_days(program)
            .into_iter()
            .filter(|(_, d)| p.contains(*d))
            .map(|(l, _)| l)
            .collect();
        let learners_where = |ok: &dyn Fn(&EnrollmentFact) -> bool| {
            self.in_scope(program)
                .filter(|e| cohort.contains(&e.learner) && ok(e))
                .map(|e| e.learner.clone())
                .collect::<HashSet<_>>()
                .len() as i64
        };
        let active = self
            .activity
            .iter()
            .filter(|a| {
                program.is_none_or(|pr| a.program == pr)
                    && cohort.contains(&a.learner)
                    && a.day <= p.end
            })
            .map(|a| &a.learner)
            .collect::<HashSet<_>>()
            .len() as i64;
        let completed = learners_where(&|e| e.complete_day.is_some_and(|d| d <= p.end));
        let invited: Vec<&InvitationFact> = self
            .invitations
            .iter()
            .filter(|i| program.is_none_or(|pr| i.program == pr) && p.contains(i.invite_day))
            .collect();
        vec![
            invited.len() as i64,
            invited
                .iter()
                .filter(|i| i.join_day.is_some_and(|d| d <= p.end))
                .count() as i64,
            cohort.len() as i64,
            learners_where(&|e| e.enroll_day <= p.end),
            active,
            completed,
            completed,
        ]
    }
}

impl Model {
    /// A cross-tab: each row counted under the pair of keys `key` gives its
    /// learner (and course: "" for a registration). `by_course`: new
    /// learners are first enrollments per course, else the scope's new
    /// members.
    pub fn crosstab(
        &self,
        program: Option<&str>,
        p: &Period,
        by_course: bool,
        key: impl Fn(&LearnerFact, &str) -> (String, String),
    ) -> BTreeMap<(String, String), RowFigures> {
        let of: BTreeMap<&str, &LearnerFact> =
            self.learners.iter().map(|l| (l.id.as_str(), l)).collect();
        let mut rows: BTreeMap<(String, String), RowFigures> = BTreeMap::new();
        if by_course {
            let mut first: BTreeMap<(&str, &str), NaiveDate> = BTreeMap::new();
            for e in self.in_scope(program) {
                let day = first
                    .entry((e.learner.as_str(), e.course.as_str()))
                    .or_insert(e.enroll_day);
                *day = (*day).min(e.enroll_day);
            }
            for ((learner, course), day) in first {
                if p.contains(day) {
                    rows.entry(key(of[learner], course)).or_default().new += 1;
                }
            }
        } else {
            for (learner, day) in self.member_days(program) {
                if p.contains(day) {
                    rows.entry(key(of[learner.as_str()], "")).or_default().new += 1;
                }
            }
        }
        for e in self.in_scope(program) {
            count_enrollment(
                rows.entry(key(of[e.learner.as_str()], &e.course))
                    .or_default(),
                e,
                p,
            );
        }
        for a in self.activity_in(program, p) {
            rows.entry(key(of[a.learner.as_str()], &a.course))
                .or_default()
                .minutes += a.minutes;
        }
        rows.retain(|_, f| *f != RowFigures::default());
        rows
    }
}
