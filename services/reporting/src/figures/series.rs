//! One metric per day, week (Monday to Sunday) or month, zeros included;
//! the first and last buckets are trimmed to the requested range.

use academy_domain::Period;
use chrono::{Datelike, Days, Months, NaiveDate};

use super::{Scope, days};
use crate::engine::{Day, Model, day_of};

/// Most buckets one request may ask for.
pub const MAX_BUCKETS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    RegisteredLearners,
    NewLearners,
    ActiveLearners,
    Enrollments,
    Completions,
    CertificatesIssued,
    LearningHours,
    /// Program invitations made (issue #17, item 4).
    Invited,
    /// Program invitations joined.
    Joined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

/// The buckets covering `period`, each trimmed to it.
pub fn buckets(period: &Period, granularity: Granularity) -> Vec<Period> {
    let mut out = Vec::new();
    let mut start = period.start;
    while start <= period.end {
        let natural_end = match granularity {
            Granularity::Day => start,
            Granularity::Week => {
                let to_sunday = 6 - start.weekday().num_days_from_monday();
                start
                    .checked_add_days(Days::new(u64::from(to_sunday)))
                    .unwrap_or(NaiveDate::MAX)
            }
            Granularity::Month => NaiveDate::from_ymd_opt(start.year(), start.month(), 1)
                .and_then(|first| first.checked_add_months(Months::new(1)))
                .and_then(|next| next.pred_opt())
                .unwrap_or(NaiveDate::MAX),
        };
        let end = natural_end.min(period.end);
        out.push(Period {
            start,
            end,
            half: None,
        });
        match end.succ_opt() {
            Some(next) => start = next,
            None => break,
        }
    }
    out
}

/// The metric's value in each bucket.
pub fn series(
    model: &Model,
    scope: &Scope,
    period: &Period,
    buckets: &[Period],
    metric: Metric,
) -> Vec<f64> {
    let scoped = scope.days(model);
    let mut running = match metric {
        Metric::RegisteredLearners => scoped.sum(Day::MIN..=day_of(period.start) - 1).new_members,
        _ => 0,
    };
    buckets
        .iter()
        .map(|b| {
            let range = days(b);
            match metric {
                // Distinct learners do not add up across days: one union per bucket.
                Metric::ActiveLearners => scoped.active_learners(range) as f64,
                Metric::RegisteredLearners => {
                    running += scoped.sum(range).new_members;
                    running as f64
                }
                Metric::NewLearners => scoped.sum(range).new_members as f64,
                Metric::Enrollments => scoped.sum(range).enrollments as f64,
                Metric::Completions => scoped.sum(range).completions as f64,
                Metric::CertificatesIssued => scoped.sum(range).certificates as f64,
                Metric::LearningHours => scoped.sum(range).minutes as f64 / 60.0,
                Metric::Invited => scoped.sum(range).invited as f64,
                Metric::Joined => scoped.sum(range).joined as f64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_are_trimmed() {
        let p = Period::range("p", d(2025, 7, 2), d(2025, 7, 16)).unwrap(); // Wed .. Wed
        let weeks = buckets(&p, Granularity::Week);
        let spans: Vec<_> = weeks.iter().map(|b| (b.start, b.end)).collect();
        assert_eq!(
            spans,
            [
                (d(2025, 7, 2), d(2025, 7, 6)),
                (d(2025, 7, 7), d(2025, 7, 13)),
                (d(2025, 7, 14), d(2025, 7, 16))
            ]
        );
    }

    #[test]
    fn months_and_days() {
        let p = Period::half("p", "2024-H1").unwrap();
        let months = buckets(&p, Granularity::Month);
        assert_eq!(months.len(), 6);
        assert_eq!(
            (months[1].start, months[1].end),
            (d(2024, 2, 1), d(2024, 2, 29))
        );
        assert_eq!(buckets(&p, Granularity::Day).len(), 182);
    }
}
