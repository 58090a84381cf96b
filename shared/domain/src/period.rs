//! Report periods: half-years ("2025-H2") and inclusive date ranges, the
//! period before a period, and age bands at a period's end.

use crate::FieldViolation;
use chrono::{Datelike, Days, Months, NaiveDate};
use std::fmt;

/// Longest range a report may cover; longer ones are almost surely mistakes.
pub const MAX_PERIOD_YEARS: i32 = 20;

/// Earliest and latest year of any date or half-year a request may name.
/// Outside them a date is certainly a mistake, and some are outside what a
/// database can store (PostgreSQL's dates start in 4714 BC).
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 2999;

/// A half-year: H1 is January–June, H2 is July–December.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Half {
    pub year: i32,
    /// 1 or 2.
    pub half: u8,
}

impl Half {
    /// Parses `YYYY-H1` or `YYYY-H2` (case-insensitive `h`).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let invalid = || FieldViolation::new(field, "must look like 2025-H1 or 2025-H2");
        let (year, half) = raw.trim().split_once('-').ok_or_else(invalid)?;
        // Four digits exactly: `str::parse` would also take "+2025" or "02025".
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let half = match half {
            "H1" | "h1" => 1,
            "H2" | "h2" => 2,
            _ => return Err(invalid()),
        };
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(year_out_of_range(field));
        }
        Ok(Self { year, half })
    }

    pub fn containing(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            half: if date.month() <= 6 { 1 } else { 2 },
        }
    }

    pub fn previous(self) -> Self {
        match self.half {
            2 => Self {
                year: self.year,
                half: 1,
            },
            _ => Self {
                year: self.year - 1,
                half: 2,
            },
        }
    }

    pub fn period(self) -> Period {
        let (start, end) = match self.half {
            1 => ((1, 1), (6, 30)),
            _ => ((7, 1), (12, 31)),
        };
        Period {
            start: ymd(self.year, start.0, start.1),
            end: ymd(self.year, end.0, end.1),
            half: Some(self),
        }
    }
}

impl fmt::Display for Half {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-H{}", self.year, self.half)
    }
}

/// An inclusive range of UTC calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Set when the period was given as a half-year, which changes what
    /// "the previous period" means.
    pub half: Option<Half>,
}

impl Period {
    /// The period of a half-year, e.g. `Period::half("period.half", "2025-H2")`.
    pub fn half(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        Half::parse(field, raw).map(Half::period)
    }

    /// An inclusive date range; `end` must not precede `start` and the range
    /// must not exceed [`MAX_PERIOD_YEARS`].
    pub fn range(field: &str, start: NaiveDate, end: NaiveDate) -> Result<Self, FieldViolation> {
        if end < start {
            return Err(FieldViolation::new(
                format!("{field}.end_date"),
                "must not be before start_date",
            ));
        }
        let limit = start
            .checked_add_months(Months::new(12 * MAX_PERIOD_YEARS as u32))
            .unwrap_or(NaiveDate::MAX);
        if end >= limit {
            return Err(FieldViolation::new(
                field,
                format!("must not span more than {MAX_PERIOD_YEARS} years"),
            ));
        }
        Ok(Self {
            start,
            end,
            half: None,
        })
    }

    /// Number of days in the period (at least 1).
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// The period just before: the previous half for a half-year, else the
    /// range of equal length that ends the day before this one starts.
    pub fn previous(&self) -> Self {
        if let Some(half) = self.half {
            return half.previous().period();
        }
        let end = self.start.pred_opt().unwrap_or(NaiveDate::MIN);
        let start = end
            .checked_sub_days(Days::new((self.days() - 1) as u64))
            .unwrap_or(NaiveDate::MIN);
        Self {
            start,
            end,
            half: None,
        }
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.half {
            Some(half) => write!(f, "{half}"),
            None => write!(f, "{}..{}", self.start, self.end),
        }
    }
}

/// Age groups used in sponsor reports, from the birth year at a period's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeBand {
    Under15,
    From15To24,
    From25To34,
    From35To44,
    From45To54,
    From55To64,
    From65,
}

impl AgeBand {
    /// Age is counted as `year(at) - birth_year`: birth dates are not kept,
    /// only years, so this is the age reached during that calendar year.
    pub fn at(birth_year: i32, at: NaiveDate) -> Self {
        match at.year() - birth_year {
            ..=14 => Self::Under15,
            15..=24 => Self::From15To24,
            25..=34 => Self::From25To34,
            35..=44 => Self::From35To44,
            45..=54 => Self::From45To54,
            55..=64 => Self::From55To64,
            _ => Self::From65,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Under15 => "<15",
            Self::From15To24 => "15-24",
            Self::From25To34 => "25-34",
            Self::From35To44 => "35-44",
            Self::From45To54 => "45-54",
            Self::From55To64 => "55-64",
            Self::From65 => "65+",
        }
    }
}

fn year_out_of_range(field: &str) -> FieldViolation {
    FieldViolation::new(
        field,
        format!("year must be between {MIN_YEAR} and {MAX_YEAR}"),
    )
}

/// A calendar date from parts, in years [`MIN_YEAR`] to [`MAX_YEAR`]; an
/// error naming `field` if it does not exist or lies outside them.
pub fn date(field: &str, year: i32, month: u32, day: u32) -> Result<NaiveDate, FieldViolation> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(year_out_of_range(field));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        FieldViolation::new(
            field,
            format!("{year:04}-{month:02}-{day:02} is not a calendar date"),
        )
    })
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    // Only called with month/day pairs that exist in every year.
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn halves_cover_the_year() {
        let h2 = Period::half("p", "2025-H2").unwrap();
        assert_eq!((h2.start, h2.end), (d(2025, 7, 1), d(2025, 12, 31)));
        let prev = h2.previous();
        assert_eq!((prev.start, prev.end), (d(2025, 1, 1), d(2025, 6, 30)));
        let before = prev.previous();
        assert_eq!((before.start, before.end), (d(2024, 7, 1), d(2024, 12, 31)));
        assert_eq!(Half::containing(d(2024, 6, 30)).to_string(), "2024-H1");
    }

    #[test]
    fn malformed_halves_are_rejected() {
        for bad in [
            "2025", "2025-H3", "25-H1", "2025-h", "", "abcd-H1", "+2025-H1", "02025-H1", "-202-H1",
        ] {
            assert!(Period::half("p", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ranges_check_order_and_length() {
        assert!(Period::range("p", d(2025, 2, 1), d(2025, 1, 1)).is_err());
        assert!(Period::range("p", d(2000, 1, 1), d(2020, 1, 1)).is_err());
        let ok = Period::range("p", d(2000, 1, 1), d(2019, 12, 31)).unwrap();
        assert_eq!(ok.days(), 7305);
    }

    #[test]
    fn previous_range_has_equal_length() {
        let p = Period::range("p", d(2025, 3, 1), d(2025, 3, 10)).unwrap();
        let prev = p.previous();
        assert_eq!((prev.start, prev.end), (d(2025, 2, 19), d(2025, 2, 28)));
        assert_eq!(prev.days(), p.days());
    }

    #[test]
    fn age_bands_at_period_end() {
        let end = d(2025, 12, 31);
        assert_eq!(AgeBand::at(2001, end).label(), "15-24");
        assert_eq!(AgeBand::at(2000, end).label(), "25-34");
        assert_eq!(AgeBand::at(1960, end).label(), "65+");
        assert_eq!(AgeBand::at(2015, end).label(), "<15");
    }

    #[test]
    fn dates_far_from_the_program_are_refused() {
        assert!(date("d", 1900, 1, 1).is_ok());
        assert!(date("d", 2999, 12, 31).is_ok());
        for year in [i32::MIN, -5000, 0, 1899, 3000, 262_000, i32::MAX] {
            assert_eq!(
                date("d", year, 1, 1).unwrap_err().to_string(),
                "d: year must be between 1900 and 2999",
                "{year}"
            );
        }
    }

    #[test]
    fn impossible_dates_are_named() {
        assert_eq!(
            date("start_date", 2025, 2, 30).unwrap_err().to_string(),
            "start_date: 2025-02-30 is not a calendar date"
        );
    }
}
