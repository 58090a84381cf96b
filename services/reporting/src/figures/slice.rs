//! Reports over a slice of learners: those a region- or organisation-limited
//! token may see (issue #15, item 6). A slice counts registered learners
//! whose current region and organisation are among the token's, by the same
//! definitions as the whole; it is walked from the day indexes
//! (`crosstab::tally`) and the active-learner bitmaps intersected with the
//! slice's learners, since the per-day counters hold everyone.

use academy_domain::Period;
use academy_runtime::auth::DataScope;
use roaring::{MultiOps, RoaringBitmap};

use super::summary::Figures;
use super::{Scope, crosstab, days, rate};
use crate::engine::{Day, Model, day_of};

/// The learners a data scope admits, as value numbers of the model.
#[derive(Debug, Clone)]
pub struct Slice {
    regions: Option<Vec<u32>>,
    organizations: Option<Vec<u32>>,
}

impl Slice {
    /// The slice of a data scope that limits learners; None for one that
    /// does not. Names the model has never seen match nobody.
    pub fn of(model: &Model, data: &DataScope) -> Option<Self> {
        if !data.limits_learners() {
            return None;
        }
        let numbers = |names: &Option<Vec<String>>| {
            names.as_ref().map(|names| {
                names
                    .iter()
                    .filter_map(|n| model.learners.values.get(n))
                    .collect::<Vec<u32>>()
            })
        };
        Some(Self {
            regions: numbers(&data.regions),
            organizations: numbers(&data.organizations),
        })
    }

    /// Whether a registered learner is in the slice.
    pub fn admits(&self, model: &Model, learner: u32) -> bool {
        let i = learner as usize;
        let l = &model.learners;
        l.is_registered(learner)
            && self
                .regions
                .as_ref()
                .is_none_or(|r| r.contains(&l.region[i]))
            && self
                .organizations
                .as_ref()
                .is_none_or(|o| o.contains(&l.organization[i]))
    }

    /// Every learner of the slice, as a bitmap of learner numbers.
    fn learners(&self, model: &Model) -> RoaringBitmap {
        (0..model.learners.len() as u32)
            .filter(|&l| self.admits(model, l))
            .collect()
    }
}

/// The headline figures of a period over the slice's learners only.
pub fn summary(model: &Model, scope: &Scope, period: &Period, slice: &Slice) -> Figures {
    let admitted = |learner: u32, _course: u32| slice.admits(model, learner).then_some((0, 0));
    let t = crosstab::tally(model, scope, period, false, admitted)
        .remove(&(0, 0))
        .unwrap_or_default();
    let range = days(period);
    let end = day_of(period.end);
    let e = &model.enrollments;
    let certificates = e
        .by_certified
        .range(range.clone())
        .flat_map(|(_, list)| list)
        .filter(|&&i| {
            let i = i as usize;
            scope.includes(e.program[i]) && slice.admits(model, e.learner[i])
        })
        .count() as i64;
    let registered = {
        let newcomers = match scope.program {
            None => Some(&model.learners.by_register),
            Some(p) => model.scopes.members_by_day.get(&p),
        };
        newcomers
            .into_iter()
            .flat_map(|m| m.range(Day::MIN..=end))
            .flat_map(|(_, list)| list)
            .filter(|&&l| slice.admits(model, l))
            .count() as i64
    };
    let active = match model.scopes.of(scope.program) {
        Some(days) => {
            let mut union = days.active.range(range.clone()).map(|(_, s)| s).union();
            union &= slice.learners(model);
            union.len() as i64
        }
        None => 0,
    };
    // Invitations whose invitee is a learner of the slice (an invitee
    // without a learner record is in no region or organisation).
    let inv = &model.invitations;
    let mut reach = (0, 0);
    for i in 0..inv.len() {
        let learner = inv.learner[i];
        if !scope.includes(inv.program[i])
            || learner == crate::engine::names::NONE
            || !slice.admits(model, learner)
        {
            continue;
        }
        if range.contains(&inv.invited[i]) {
            reach.0 += 1;
        }
        if range.contains(&inv.joined[i]) {
            reach.1 += 1;
        }
    }
    Figures {
        invited: reach.0,
        joined: reach.1,
        registered_learners: registered,
        new_learners: t.new_learners,
        active_learners: active,
        enrollments: t.enrollments,
        completions: t.completions,
        completion_rate: rate(t.completed_of_created, t.enrollments),
        certificates_issued: certificates,
        learning_minutes: t.learning_minutes,
    }
}
