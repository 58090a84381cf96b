//! The report period an operator names on the command line.

use academy_proto::google::r#type::Date;
use academy_proto::reporting::Period;
use chrono::{Datelike, NaiveDate, Utc};
use clap::Args;

/// `--half 2025-H2`, or `--from 2025-01-01 --to 2025-03-31`; neither means
/// the last completed half year (what sponsors get reported).
#[derive(Debug, Clone, Args)]
pub struct PeriodArgs {
    /// A half year, "YYYY-H1" or "YYYY-H2".
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub half: Option<String>,

    /// First day of a custom period (YYYY-MM-DD); needs --to.
    #[arg(long, requires = "to")]
    pub from: Option<NaiveDate>,

    /// Last day of a custom period (YYYY-MM-DD); needs --from.
    #[arg(long, requires = "from")]
    pub to: Option<NaiveDate>,
}

impl PeriodArgs {
    /// The period as the API takes it; the server validates it.
    pub fn to_proto(&self) -> Period {
        match (&self.half, self.from, self.to) {
            (Some(half), _, _) => Period {
                half: half.clone(),
                ..Default::default()
            },
            (None, Some(from), Some(to)) => Period {
                half: String::new(),
                start_date: Some(date(from)),
                end_date: Some(date(to)),
            },
            _ => Period {
                half: last_completed_half(Utc::now().date_naive()),
                ..Default::default()
            },
        }
    }
}

/// A `google.type.Date` for a calendar day.
pub fn date(day: NaiveDate) -> Date {
    Date {
        year: day.year(),
        month: day.month() as i32,
        day: day.day() as i32,
    }
}

/// The half year that ended most recently before `today`.
pub fn last_completed_half(today: NaiveDate) -> String {
    if today.month() <= 6 {
        format!("{}-H2", today.year() - 1)
    } else {
        format!("{}-H1", today.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_completed_half_is_the_one_before_today() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        assert_eq!(last_completed_half(day(2026, 11, 29)), "2026-H1");
        assert_eq!(last_completed_half(day(2026, 7, 1)), "2026-H1");
        assert_eq!(last_completed_half(day(2026, 6, 30)), "2025-H2");
        assert_eq!(last_completed_half(day(2026, 1, 1)), "2025-H2");
    }
}
