//! The catalog's own rules: course states and what each allows, and the
//! validated shapes of new skills, courses and programs.

use academy_domain::{DomainError, FieldViolation};
use chrono::NaiveDate;

pub const MAX_MODULES: usize = 200;
pub const MAX_SKILLS_PER_COURSE: usize = 50;
pub const MAX_ESTIMATED_HOURS: f64 = 10_000.0;
pub const MAX_MODULE_MINUTES: i32 = 10_000;

/// Where a course is in its life. DRAFT → PUBLISHED → ARCHIVED; archive is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourseState {
    Draft,
    Published,
    Archived,
}

impl CourseState {
    pub const ALL: [Self; 3] = [Self::Draft, Self::Published, Self::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Published => "PUBLISHED",
            Self::Archived => "ARCHIVED",
        }
    }

    /// Reads a stored state; anything else means the row was corrupted.
    pub fn from_stored(value: &str) -> Result<Self, DomainError> {
        academy_domain::stored::parse(&Self::ALL, Self::as_str, "course state", value)
    }

    pub fn ensure_can_publish(self) -> Result<(), DomainError> {
        match self {
            Self::Draft => Ok(()),
            Self::Published => Err(DomainError::precondition(
                "COURSE_ALREADY_PUBLISHED",
                "course is already published",
            )),
            Self::Archived => Err(archived()),
        }
    }

    pub fn ensure_can_archive(self) -> Result<(), DomainError> {
        match self {
            Self::Draft | Self::Published => Ok(()),
            Self::Archived => Err(archived()),
        }
    }

    /// Descriptive fields may change until the course is archived.
    pub fn ensure_can_edit(self) -> Result<(), DomainError> {
        match self {
            Self::Archived => Err(archived()),
            Self::Draft | Self::Published => Ok(()),
        }
    }

    /// Modules and skills are fixed once learners may be enrolled.
    pub fn ensure_can_restructure(self, field: &str) -> Result<(), DomainError> {
        match self {
            Self::Draft => Ok(()),
            Self::Published | Self::Archived => Err(DomainError::precondition(
                "COURSE_NOT_DRAFT",
                format!("{field} can only be changed while the course is a draft"),
            )),
        }
    }
}

fn archived() -> DomainError {
    DomainError::precondition("COURSE_ARCHIVED", "course is archived; archiving is final")
}

/// Who a course is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
}

impl Level {
    pub const ALL: [Self; 3] = [Self::Beginner, Self::Intermediate, Self::Advanced];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beginner => "BEGINNER",
            Self::Intermediate => "INTERMEDIATE",
            Self::Advanced => "ADVANCED",
        }
    }

    pub fn from_stored(value: &str) -> Result<Self, DomainError> {
        academy_domain::stored::parse(&Self::ALL, Self::as_str, "course level", value)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSkill {
    pub name: String,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewModule {
    pub title: String,
    pub estimated_minutes: i32,
}

/// The descriptive fields of a course, each already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseDetails {
    pub title: String,
    pub description: String,
    pub provider: String,
    pub language: String,
    pub level: Level,
    pub estimated_hours: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCourse {
    pub code: String,
    pub details: CourseDetails,
    pub skill_ids: Vec<String>,
    pub modules: Vec<NewModule>,
    /// The provider's own id, e.g. a Coursera slug; set at creation.
    pub provider_course_id: Option<String>,
}

/// What an UpdateCourse changes: only the fields named in its mask.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoursePatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub provider: Option<String>,
    pub language: Option<String>,
    pub level: Option<Level>,
    pub estimated_hours: Option<f64>,
    pub skill_ids: Option<Vec<String>>,
    pub modules: Option<Vec<NewModule>>,
    /// Set (`Some(Some)`) or cleared (`Some(None)`) provider course id.
    pub provider_course_id: Option<Option<String>>,
}

impl CoursePatch {
    pub fn apply(&self, details: &mut CourseDetails) {
        if let Some(v) = &self.title {
            details.title.clone_from(v);
        }
        if let Some(v) = &self.description {
            details.description.clone_from(v);
        }
        if let Some(v) = &self.provider {
            details.provider.clone_from(v);
        }
        if let Some(v) = &self.language {
            details.language.clone_from(v);
        }
        if let Some(v) = self.level {
            details.level = v;
        }
        if let Some(v) = self.estimated_hours {
            details.estimated_hours = v;
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewProgram {
    pub name: String,
    pub description: String,
    pub start_date: NaiveDate,
}

/// A course code: 1–32 characters of letters, digits, `.`, `_` and `-`,
/// kept as given (codes like `DA-101` are printed on certificates).
pub fn course_code(field: &str, raw: &str) -> Result<String, FieldViolation> {
    let code = academy_domain::text::required(field, raw, 32)?;
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(FieldViolation::new(
            field,
            "may only contain letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(code)
}

/// A BCP-47 language tag in its common shape (`en`, `az`, `az-Latn-AZ`).
pub fn language(field: &str, raw: &str) -> Result<String, FieldViolation> {
    let tag = academy_domain::text::required(field, raw, 35)?;
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !(primary_ok && rest_ok) {
        return Err(FieldViolation::new(
            field,
            "must be a BCP-47 language tag such as \"en\" or \"az\"",
        ));
    }
    Ok(tag)
}

pub fn estimated_hours(field: &str, hours: f64) -> Result<f64, FieldViolation> {
    if !hours.is_finite() || hours <= 0.0 || hours > MAX_ESTIMATED_HOURS {
        return Err(FieldViolation::new(
            field,
            format!("must be more than 0 and at most {MAX_ESTIMATED_HOURS}"),
        ));
    }
    Ok(hours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_allows_only_forward_moves() {
        assert!(CourseState::Draft.ensure_can_publish().is_ok());
        assert!(CourseState::Published.ensure_can_publish().is_err());
        assert!(CourseState::Published.ensure_can_archive().is_ok());
        assert!(CourseState::Archived.ensure_can_archive().is_err());
        assert!(CourseState::Archived.ensure_can_edit().is_err());
        assert!(
            CourseState::Published
                .ensure_can_restructure("modules")
                .is_err()
        );
        assert!(CourseState::Draft.ensure_can_restructure("modules").is_ok());
    }

    #[test]
    fn codes_and_languages() {
        assert_eq!(course_code("c", " DA-101 ").unwrap(), "DA-101");
        assert!(course_code("c", "DA 101").is_err());
        assert!(language("l", "az-Latn-AZ").is_ok());
        assert!(language("l", "english").is_err());
        assert!(language("l", "e").is_err());
    }

    #[test]
    fn hours_must_be_positive_and_finite() {
        assert!(estimated_hours("h", 0.0).is_err());
        assert!(estimated_hours("h", f64::NAN).is_err());
        assert!(estimated_hours("h", 12.5).is_ok());
    }
}
