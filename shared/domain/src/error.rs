//! The one error type of the domain. Every variant is mapped to a gRPC
//! status in exactly one place (`academy_runtime::status`).

use std::fmt;

/// Result alias used across the services.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// One invalid field of a request: the field's path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the offending field, e.g. `course.modules[2].title`.
    pub field: String,
    /// Human-readable reason, safe to show to the caller.
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// The same violation, nested under a parent field (`course` + `title` → `course.title`).
    pub fn under(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// What can go wrong in a domain operation. Messages are written for the
/// caller: they never contain database text or personal data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The request itself is malformed; nothing was changed.
    #[error("invalid request: {}", join(violations))]
    InvalidArgument { violations: Vec<FieldViolation> },

    /// The addressed resource does not exist.
    #[error("{resource} {id:?} not found")]
    NotFound { resource: &'static str, id: String },

    /// A resource with the same unique key already exists.
    #[error("{resource} with this {field} already exists")]
    AlreadyExists {
        resource: &'static str,
        field: &'static str,
    },

    /// The resource is in a state that does not allow the operation.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable, machine-readable reason, e.g. `COURSE_NOT_DRAFT`.
        reason: &'static str,
        message: String,
    },

    /// The token's scopes allow the method but not this use of it.
    #[error("{message}")]
    PermissionDenied { message: String },

    /// A concurrent change won: the caller's etag is stale.
    #[error("{resource} was changed by someone else (etag mismatch); read it again and retry")]
    Aborted { resource: &'static str },

    /// A dependency (database, another service) cannot be reached right now.
    #[error("{what} is unavailable, retry later")]
    Unavailable { what: &'static str },

    /// The caller took too long (an idle client stream).
    #[error("{message}")]
    DeadlineExceeded { message: String },

    /// A limit was hit (stream size, concurrency).
    #[error("{message}")]
    ResourceExhausted { message: String },

    /// A bug or an unexpected storage failure. The detail is logged, never returned.
    #[error("internal error")]
    Internal { detail: String },
}

impl DomainError {
    /// A single-field `InvalidArgument`.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation::new(field, description).into()
    }

    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            id: id.into(),
        }
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason,
            message: message.into(),
        }
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::Internal {
            detail: detail.to_string(),
        }
    }
}

impl From<FieldViolation> for DomainError {
    fn from(violation: FieldViolation) -> Self {
        Self::InvalidArgument {
            violations: vec![violation],
        }
    }
}

impl From<Vec<FieldViolation>> for DomainError {
    fn from(violations: Vec<FieldViolation>) -> Self {
        Self::InvalidArgument { violations }
    }
}

fn join(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects every violation of a request before failing, so a caller sees all
/// of its mistakes at once instead of one per round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value when valid, records the violation otherwise.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    pub fn push(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::InvalidArgument { violations: self.0 })
        }
    }
}

/// A field's violations: one ([`FieldViolation`]) or several (a nested
/// message checked on its own), as [`AllValid`] collects them.
pub trait IntoViolations {
    fn into_violations(self) -> Vec<FieldViolation>;
}

impl IntoViolations for FieldViolation {
    fn into_violations(self) -> Vec<FieldViolation> {
        vec![self]
    }
}

impl IntoViolations for Vec<FieldViolation> {
    fn into_violations(self) -> Vec<FieldViolation> {
        self
    }
}

impl IntoViolations for Violations {
    fn into_violations(self) -> Vec<FieldViolation> {
        self.0
    }
}

/// Checks several fields at once: a tuple of per-field results becomes the
/// tuple of values when every field is valid, or one `InvalidArgument`
/// naming every violation. The values come out of the same match that
/// proves them valid, so no caller has a "validated but missing" branch.
///
/// `let (id, minutes) = (parse_id("id", raw), minutes(m)).all_valid()?;`
pub trait AllValid: Sized {
    type Values;

    /// The values, or every violation, for a caller that checks them again
    /// together with other fields (a nested message's parts).
    fn all_valid_or_violations(self) -> std::result::Result<Self::Values, Vec<FieldViolation>>;

    fn all_valid(self) -> Result<Self::Values> {
        self.all_valid_or_violations()
            .map_err(|violations| DomainError::InvalidArgument { violations })
    }
}

macro_rules! all_valid_for_tuple {
    ($($value:ident $error:ident $field:ident),+) => {
        impl<$($value, $error: IntoViolations),+> AllValid
            for ($(std::result::Result<$value, $error>,)+)
        {
            type Values = ($($value,)+);

            fn all_valid_or_violations(
                self,
            ) -> std::result::Result<Self::Values, Vec<FieldViolation>> {
                #[allow(non_snake_case)]
                let ($($field,)+) = self;
                match ($($field,)+) {
                    ($(Ok($field),)+) => Ok(($($field,)+)),
                    ($($field,)+) => {
                        let mut violations = Vec::new();
                        $(
                            if let Err(error) = $field {
                                violations.extend(error.into_violations());
                            }
                        )+
                        Err(violations)
                    }
                }
            }
        }
    };
}

all_valid_for_tuple!(A EA a);
all_valid_for_tuple!(A EA a, B EB b);
all_valid_for_tuple!(A EA a, B EB b, C EC c);
all_valid_for_tuple!(A EA a, B EB b, C EC c, D ED d);
all_valid_for_tuple!(A EA a, B EB b, C EC c, D ED d, E EE e);
all_valid_for_tuple!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f);
all_valid_for_tuple!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g);
all_valid_for_tuple!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g, H EH h);
all_valid_for_tuple!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g, H EH h, I EI i);
all_valid_for_tuple!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g, H EH h, I EI i, J EJ j);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_collect_every_field() {
        let mut v = Violations::new();
        assert_eq!(v.check::<u8>(Err(FieldViolation::new("a", "bad"))), None);
        assert_eq!(v.check(Ok(3)), Some(3));
        v.push(FieldViolation::new("b", "worse").under("x"));
        let err = v.finish().unwrap_err();
        assert_eq!(err.to_string(), "invalid request: a: bad; x.b: worse");
    }

    #[test]
    fn internal_detail_is_not_displayed() {
        let err = DomainError::internal("duplicate key value violates constraint");
        assert_eq!(err.to_string(), "internal error");
    }

    #[test]
    fn all_valid_gives_every_value_or_every_violation() {
        let ok: (Result<u8, FieldViolation>, Result<&str, FieldViolation>) = (Ok(1), Ok("x"));
        assert_eq!(ok.all_valid().unwrap(), (1, "x"));
        let nested = vec![
            FieldViolation::new("c", "bad"),
            FieldViolation::new("d", "bad"),
        ];
        let bad = (
            Err::<u8, _>(FieldViolation::new("a", "bad")),
            Ok::<u8, FieldViolation>(2),
            Err::<u8, _>(nested),
        );
        let err = bad.all_valid().unwrap_err();
        assert_eq!(err.to_string(), "invalid request: a: bad; c: bad; d: bad");
    }
}
