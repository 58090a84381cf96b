//! Resource ids: opaque strings holding a UUIDv7, so ids sort by creation time
//! (which keyset pagination relies on) without exposing a counter.

use crate::FieldViolation;
use uuid::Uuid;

/// A new, time-ordered resource id.
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Checks that `value` is an id this system could have issued and returns it
/// in canonical (lower-case, hyphenated) form.
pub fn parse_id(field: &str, value: &str) -> Result<String, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    Uuid::parse_str(trimmed)
        .map(|id| id.to_string())
        .map_err(|_| FieldViolation::new(field, "is not a valid id"))
}

/// Like [`parse_id`], but an empty value means "not given".
pub fn parse_optional_id(field: &str, value: &str) -> Result<Option<String>, FieldViolation> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        parse_id(field, value).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_round_trip() {
        let a = new_id();
        let b = new_id();
        assert!(a < b);
        assert_eq!(parse_id("id", &a.to_uppercase()).unwrap(), a);
    }

    #[test]
    fn rejects_garbage_and_empty() {
        assert_eq!(parse_id("id", "").unwrap_err().description, "is required");
        assert_eq!(
            parse_id("course_id", "nope").unwrap_err().to_string(),
            "course_id: is not a valid id"
        );
        assert_eq!(parse_optional_id("program_id", " ").unwrap(), None);
    }
}
