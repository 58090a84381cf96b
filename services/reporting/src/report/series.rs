//! One metric per day, week (Monday to Sunday) or month, zeros included;
//! the first and last buckets are trimmed to the requested range.

use academy_domain::Period;
use chrono::{Datelike, Days, Months, NaiveDate};
use sea_orm::{DatabaseConnection, DbErr, Value};
use std::collections::HashMap;

use super::{Scope, count, grouped, range};

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
pub async fn series(
    db: &DatabaseConnection,
    scope: &Scope,
    period: &Period,
    buckets: &[Period],
    metric: Metric,
) -> Result<Vec<f64>, DbErr> {
    if metric == Metric::ActiveLearners {
        // Distinct learners do not add up across days: one count per bucket.
        let mut values = Vec::with_capacity(buckets.len());
        for bucket in buckets {
            let mut v = range(bucket);
            let f = scope.filter("program_id", &mut v);
            let sql = format!(
                "SELECT COUNT(DISTINCT learner_id) AS n FROM r_activity WHERE day BETWEEN ? AND ?{f}"
            );
            values.push(count(db, &sql, v).await? as f64);
        }
        return Ok(values);
    }
    let (members, member_day) = match scope.program_id {
        Some(_) => ("r_program_members", "first_day"),
        None => ("r_learners", "register_day"),
    };
    let (table, column, aggregate) = match metric {
        Metric::RegisteredLearners | Metric::NewLearners => (members, member_day, "COUNT(*)"),
        Metric::Enrollments => ("r_enrollments", "enroll_day", "COUNT(*)"),
        Metric::Completions => ("r_enrollments", "complete_day", "COUNT(*)"),
        Metric::CertificatesIssued => ("r_enrollments", "certificate_day", "COUNT(*)"),
        Metric::LearningHours | Metric::ActiveLearners => {
            ("r_activity", "day", "CAST(SUM(minutes) AS BIGINT)")
        }
    };
    let mut v = range(period);
    let f = scope.filter("program_id", &mut v);
    let per_day = grouped(
        db,
        &format!("SELECT CAST({column} AS TEXT) AS k, {aggregate} AS n FROM {table} WHERE {column} BETWEEN ? AND ?{f} GROUP BY 1"),
        v,
    )
    .await?;
    let per_day: HashMap<NaiveDate, i64> = per_day
        .into_iter()
        .filter_map(|(k, n)| {
            NaiveDate::parse_from_str(&k, "%Y-%m-%d")
                .ok()
                .map(|d| (d, n))
        })
        .collect();
    let sum = |b: &Period| -> i64 {
        per_day
            .iter()
            .filter(|(d, _)| b.contains(**d))
            .map(|(_, n)| n)
            .sum()
    };
    let mut running = if metric == Metric::RegisteredLearners {
        let mut v = vec![Value::from(period.start)];
        let f = scope.filter("program_id", &mut v);
        count(
            db,
            &format!("SELECT COUNT(*) AS n FROM {members} WHERE {member_day} < ?{f}"),
            v,
        )
        .await?
    } else {
        0
    };
    Ok(buckets
        .iter()
        .map(|b| match metric {
            Metric::RegisteredLearners => {
                running += sum(b);
                running as f64
            }
            Metric::LearningHours => sum(b) as f64 / 60.0,
            _ => sum(b) as f64,
        })
        .collect())
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
