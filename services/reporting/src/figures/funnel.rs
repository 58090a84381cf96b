//! The funnel: it starts at reach (issue #17, item 4): the invitations of
//! the period and, of those, the ones joined by its end; then the learners
//! new in the period and how many of them enrolled, were active, completed
//! and got a certificate, by the period's end.

use academy_domain::Period;

use super::{Scope, days};
use crate::engine::learners::Firsts;
use crate::engine::{Model, day_of};

pub const STAGES: [&str; 7] = [
    "invited",
    "joined",
    "registered",
    "enrolled",
    "active",
    "completed",
    "certified",
];

pub fn funnel(model: &Model, scope: &Scope, period: &Period) -> Vec<(&'static str, i64)> {
    let end = day_of(period.end);
    let range = days(period);
    let inv = &model.invitations;
    let (mut invited, mut joined) = (0i64, 0i64);
    for i in (0..inv.len()).filter(|&i| scope.includes(inv.program[i])) {
        if range.contains(&inv.invited[i]) {
            invited += 1;
            if inv.joined[i] <= end {
                joined += 1;
            }
        }
    }
    let mut counts = [0i64; 5];
    let mut count = |f: &Firsts| {
        counts[0] += 1;
        for (slot, day) in [f.enrolled, f.active, f.completed, f.certified]
            .into_iter()
            .enumerate()
        {
            if day <= end {
                counts[slot + 1] += 1;
            }
        }
    };
    // The cohort: learners registered in the period (or, for a program,
    // whose first enrollment in it falls in the period).
    match scope.program {
        None => {
            let learners = &model.learners;
            for (_, list) in learners.by_register.range(days(period)) {
                for &l in list {
                    count(&learners.firsts[l as usize]);
                }
            }
        }
        Some(p) => {
            let by_day = model.scopes.members_by_day.get(&p);
            let members = model.scopes.members.get(&p);
            for (_, list) in by_day.into_iter().flat_map(|m| m.range(days(period))) {
                for l in list {
                    if let Some(firsts) = members.and_then(|m| m.get(*l as usize)) {
                        count(firsts);
                    }
                }
            }
        }
    }
    STAGES
        .into_iter()
        .zip([invited, joined].into_iter().chain(counts))
        .collect()
}
