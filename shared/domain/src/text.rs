//! Validation of free-text fields: trimmed, non-empty where required, and
//! bounded in characters (not bytes, so Azerbaijani letters count as one).

use crate::FieldViolation;

/// A required text field: trimmed, 1..=`max` characters, no control characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    bounded(field, trimmed, max)
}

/// An optional text field: trimmed, at most `max` characters, may be empty.
pub fn optional(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    bounded(field, value.trim(), max)
}

fn bounded(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    let chars = value.chars().count();
    if chars > max {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {max} characters (got {chars})"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Caller input quoted for an error message: escaped like `{:?}` and cut
/// to `max` characters, so a refusal never echoes a huge or unprintable
/// value back (an echo too big for the status headers would not arrive).
pub fn excerpt(value: &str, max: usize) -> String {
    let mut cut: String = value.chars().take(max).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// An integer that must lie in `min..=max`.
pub fn in_range<T>(field: &str, value: T, min: T, max: T) -> Result<T, FieldViolation>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if value < min || value > max {
        return Err(FieldViolation::new(
            field,
            format!("must be between {min} and {max} (got {value})"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_in_characters() {
        assert_eq!(required("t", "  Şəki  ", 4).unwrap(), "Şəki");
        assert!(required("t", "Şəkii", 4).is_err());
        assert_eq!(
            required("t", "   ", 4).unwrap_err().description,
            "is required"
        );
        assert_eq!(optional("t", "", 4).unwrap(), "");
        assert!(required("t", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn excerpts_are_short_quoted_and_escaped() {
        assert_eq!(excerpt("title", 8), "\"title\"");
        assert_eq!(excerpt("a\0b", 8), "\"a\\0b\"");
        assert_eq!(excerpt(&"x".repeat(100_000), 3), "\"xxx…\"");
        assert_eq!(excerpt("Şəki", 2), "\"Şə…\"");
    }

    #[test]
    fn ranges_are_inclusive() {
        assert_eq!(in_range("n", 1, 1, 3).unwrap(), 1);
        assert_eq!(in_range("n", 3, 1, 3).unwrap(), 3);
        assert_eq!(
            in_range("n", 4, 1, 3).unwrap_err().description,
            "must be between 1 and 3 (got 4)"
        );
    }
}
