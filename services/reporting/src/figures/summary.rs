//! The headline figures of a period.

use academy_domain::Period;
use chrono::Months;

use super::{Scope, days, rate};
use crate::engine::{Day, Model, day_of};

/// Every headline figure of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub registered_learners: i64,
    pub new_learners: i64,
    pub active_learners: i64,
    pub enrollments: i64,
    pub completions: i64,
    pub completion_rate: f64,
    pub certificates_issued: i64,
    pub learning_minutes: i64,
    /// Program invitations made in the period (issue #17, item 4).
    pub invited: i64,
    /// Program invitations joined in the period.
    pub joined: i64,
}

impl Figures {
    pub fn learning_hours(&self) -> f64 {
        self.learning_minutes as f64 / 60.0
    }
}

pub fn figures(model: &Model, scope: &Scope, period: &Period) -> Figures {
    let range = days(period);
    let end = day_of(period.end);
    let scoped = scope.days(model);
    let sums = scoped.sum(range.clone());
    Figures {
        registered_learners: scoped.sum(Day::MIN..=end).new_members,
        new_learners: sums.new_members,
        active_learners: scoped.active_learners(range.clone()) as i64,
        enrollments: sums.enrollments,
        completions: sums.completions,
        completion_rate: rate(
            scoped.completed_of_created(range.clone(), end),
            sums.enrollments,
        ),
        certificates_issued: sums.certificates,
        learning_minutes: sums.minutes,
        invited: sums.invited,
        joined: sums.joined,
    }
}

/// `current / previous - 1`, 0 when there was nothing before.
pub fn growth_rate(current: i64, previous: i64) -> f64 {
    if previous == 0 {
        0.0
    } else {
        current as f64 / previous as f64 - 1.0
    }
}

/// The same period one year earlier: both dates moved back 12 months
/// (29 February becomes the 28th); a half stays a half.
pub fn year_before(period: &Period) -> Period {
    let back = |d: chrono::NaiveDate| d.checked_sub_months(Months::new(12)).unwrap_or(d);
    Period {
        start: back(period.start),
        end: back(period.end),
        half: period.half.map(|h| h.previous().previous()),
    }
}
