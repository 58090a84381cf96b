//! Learner attributes that reports group by, shared by the learner service
//! (which validates them) and reporting (which reads them from the feed).

use crate::FieldViolation;
use chrono::{Datelike, NaiveDate};

/// Youngest age at which someone may register.
pub const MIN_AGE: i32 = 15;
/// Earliest birth year accepted.
pub const MIN_BIRTH_YEAR: i32 = 1900;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gender {
    Female,
    Male,
    Other,
    Undisclosed,
}

impl Gender {
    pub const ALL: [Gender; 4] = [Self::Female, Self::Male, Self::Other, Self::Undisclosed];

    /// The canonical name used in storage, events and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "FEMALE",
            Self::Male => "MALE",
            Self::Other => "OTHER",
            Self::Undisclosed => "UNDISCLOSED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmploymentStatus {
    Employed,
    SelfEmployed,
    Unemployed,
    Student,
    Retired,
    Other,
}

impl EmploymentStatus {
    pub const ALL: [EmploymentStatus; 6] = [
        Self::Employed,
        Self::SelfEmployed,
        Self::Unemployed,
        Self::Student,
        Self::Retired,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employed => "EMPLOYED",
            Self::SelfEmployed => "SELF_EMPLOYED",
            Self::Unemployed => "UNEMPLOYED",
            Self::Student => "STUDENT",
            Self::Retired => "RETIRED",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A birth year from [`MIN_BIRTH_YEAR`] to the year someone turns
/// [`MIN_AGE`] as of `today`.
pub fn birth_year(field: &str, year: i32, today: NaiveDate) -> Result<i32, FieldViolation> {
    let latest = today.year() - MIN_AGE;
    crate::text::in_range(field, year, MIN_BIRTH_YEAR, latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for g in Gender::ALL {
            assert_eq!(Gender::parse(g.as_str()), Some(g));
        }
        for s in EmploymentStatus::ALL {
            assert_eq!(EmploymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Gender::parse("female"), None);
    }

    #[test]
    fn birth_years_are_bounded_by_age() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert!(birth_year("b", 2011, today).is_ok());
        assert!(birth_year("b", 2012, today).is_err());
        assert!(birth_year("b", 1899, today).is_err());
    }
}
