//! Update masks (AIP-134): which fields an Update call changes.

use crate::{DomainError, FieldViolation, text};

/// The paths of an update mask, checked against the paths the resource
/// lets a caller change: at least one, and no more than there are (each
/// path may add a violation: bounding them bounds the status too). Each
/// path itself is checked by the caller, which knows its field.
pub fn update_paths(
    paths: Option<Vec<String>>,
    updatable: &[&str],
) -> Result<Vec<String>, DomainError> {
    let paths = paths.unwrap_or_default();
    if paths.is_empty() {
        return Err(DomainError::invalid(
            "update_mask",
            format!(
                "name at least one field to change: {}",
                updatable.join(", ")
            ),
        ));
    }
    if paths.len() > updatable.len() {
        return Err(DomainError::invalid(
            "update_mask",
            format!("name at most {} fields", updatable.len()),
        ));
    }
    Ok(paths)
}

/// The violation of a mask path the resource does not let a caller change.
pub fn not_updatable(path: &str, updatable: &[&str]) -> FieldViolation {
    FieldViolation::new(
        "update_mask",
        format!(
            "{} cannot be updated; allowed: {}",
            text::excerpt(path, 64),
            updatable.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_names_at_least_one_and_at_most_every_updatable_path() {
        let updatable = ["title", "description"];
        assert!(update_paths(None, &updatable).is_err());
        assert!(update_paths(Some(vec![]), &updatable).is_err());
        let three = vec!["title".to_owned(); 3];
        assert!(update_paths(Some(three), &updatable).is_err());
        assert_eq!(
            update_paths(Some(vec!["title".to_owned()]), &updatable).ok(),
            Some(vec!["title".to_owned()])
        );
    }
}
