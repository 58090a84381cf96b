//! Learner attributes that reports group by, shared by the learner service
//! (which validates them) and reporting (which reads them from the feed).

use crate::FieldViolation;
use chrono::{Datelike, NaiveDate};

/// Youngest age at which someone may register.
pub const MIN_AGE: i32 = 15;
/// Earliest birth year accepted.
pub const MIN_BIRTH_YEAR: i32 = 1900;

/// How an unknown attribute is spelled in storage, events and report keys:
/// one word for every attribute, so a breakdown's `unknown` row means the
/// same thing whatever the dimension. Providers rarely know demographics;
/// unknown is recorded as such rather than as a made-up value.
pub const UNKNOWN: &str = "unknown";

/// Birth year as carried by the API, storage and events when unknown.
pub const UNKNOWN_BIRTH_YEAR: i32 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gender {
    Female,
    Male,
    Other,
    Undisclosed,
    /// Not known to whoever supplied the record (e.g. a provider export);
    /// unlike Undisclosed, the learner was never asked.
    Unknown,
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
            Self::Unknown => UNKNOWN,
        }
    }

    /// A stored or event value back; `ALL` (the known values) or [`UNKNOWN`].
    pub fn parse(value: &str) -> Option<Self> {
        by_name(&Self::ALL, Self::Unknown, Self::as_str, value)
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
    /// Not known to whoever supplied the record.
    Unknown,
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
            Self::Unknown => UNKNOWN,
        }
    }

    /// A stored or event value back; `ALL` (the known values) or [`UNKNOWN`].
    pub fn parse(value: &str) -> Option<Self> {
        by_name(&Self::ALL, Self::Unknown, Self::as_str, value)
    }
}

/// The value of `known`, or `unknown`, whose name is `value`.
fn by_name<T: Copy>(
    known: &[T],
    unknown: T,
    name: fn(T) -> &'static str,
    value: &str,
) -> Option<T> {
    known
        .iter()
        .copied()
        .chain([unknown])
        .find(|v| name(*v) == value)
}

/// A birth year from [`MIN_BIRTH_YEAR`] to the year someone turns
/// [`MIN_AGE`] as of `today`.
/// [`UNKNOWN_BIRTH_YEAR`] (0) is accepted as unknown.
pub fn birth_year(field: &str, year: i32, today: NaiveDate) -> Result<i32, FieldViolation> {
    if year == UNKNOWN_BIRTH_YEAR {
        return Ok(year);
    }
    let latest = today.year() - MIN_AGE;
    crate::text::in_range(field, year, MIN_BIRTH_YEAR, latest)
}

/// Highest ISCED 2011 level (8, doctoral or equivalent).
pub const MAX_EDUCATION_LEVEL: i32 = 8;

/// Highest completed education as an ISCED 2011 level, 0 (early childhood)
/// to 8 (doctoral); `None` is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EducationLevel(u8);

impl EducationLevel {
    /// Every level, lowest first.
    pub fn all() -> impl Iterator<Item = EducationLevel> {
        (0..=MAX_EDUCATION_LEVEL as u8).map(EducationLevel)
    }

    /// An API value: unset is unknown, 0-8 a level, anything else a
    /// violation of `field`.
    pub fn parse(field: &str, raw: Option<i32>) -> Result<Option<Self>, FieldViolation> {
        match raw {
            None => Ok(None),
            Some(level) => crate::text::in_range(field, level, 0, MAX_EDUCATION_LEVEL)
                .map(|l| Some(Self(l as u8))),
        }
    }

    pub fn level(self) -> i32 {
        i32::from(self.0)
    }

    /// The name in events and report keys, e.g. "ISCED_3".
    pub fn as_str(self) -> &'static str {
        const NAMES: [&str; 9] = [
            "ISCED_0", "ISCED_1", "ISCED_2", "ISCED_3", "ISCED_4", "ISCED_5", "ISCED_6", "ISCED_7",
            "ISCED_8",
        ];
        NAMES[usize::from(self.0)]
    }

    /// An event's education level as reported: events written before
    /// producers carried it have none, which is unknown.
    pub fn reported(event_value: &str) -> &str {
        if event_value.is_empty() {
            UNKNOWN
        } else {
            event_value
        }
    }

    /// The event value for a level or unknown.
    pub fn name(level: Option<Self>) -> &'static str {
        level.map_or(UNKNOWN, Self::as_str)
    }
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
        assert_eq!(Gender::parse("unknown"), Some(Gender::Unknown));
        assert_eq!(
            EmploymentStatus::parse("unknown"),
            Some(EmploymentStatus::Unknown)
        );
    }

    #[test]
    fn education_levels_are_isced_0_to_8_or_unknown() {
        assert_eq!(EducationLevel::parse("e", None), Ok(None));
        assert_eq!(
            EducationLevel::parse("e", Some(0)).map(EducationLevel::name),
            Ok("ISCED_0")
        );
        assert_eq!(
            EducationLevel::parse("e", Some(8)).map(EducationLevel::name),
            Ok("ISCED_8")
        );
        assert!(EducationLevel::parse("e", Some(9)).is_err());
        assert!(EducationLevel::parse("e", Some(-1)).is_err());
        assert_eq!(EducationLevel::all().count(), 9);
        // Events from before education was recorded carry none: unknown.
        assert_eq!(EducationLevel::reported(""), "unknown");
        assert_eq!(EducationLevel::reported("ISCED_4"), "ISCED_4");
    }

    #[test]
    fn birth_years_are_bounded_by_age() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert!(birth_year("b", 2011, today).is_ok());
        assert!(birth_year("b", 2012, today).is_err());
        assert!(birth_year("b", 1899, today).is_err());
        assert_eq!(birth_year("b", 0, today), Ok(0));
    }
}
