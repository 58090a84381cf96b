//! The header line of an imported CSV file: where each known column is.

use std::collections::HashMap;

/// Column name → position in each record. Names match the known ones
/// case-insensitively, surrounding spaces ignored, in any order; an unknown
/// or repeated column, or a missing required one, refuses the whole file
/// before any row is sent.
pub fn positions(
    header: &csv::StringRecord,
    known: &[&'static str],
    required: &[&'static str],
) -> anyhow::Result<HashMap<&'static str, usize>> {
    let mut found = HashMap::new();
    for (position, name) in header.iter().enumerate() {
        let name = name.trim();
        let Some(column) = known.iter().find(|c| c.eq_ignore_ascii_case(name)) else {
            anyhow::bail!(
                "unknown column {name:?}; the columns are {}",
                known.join(", ")
            );
        };
        if found.insert(*column, position).is_some() {
            anyhow::bail!("column {name:?} appears twice in the header");
        }
    }
    if let Some(missing) = required.iter().find(|c| !found.contains_key(*c)) {
        anyhow::bail!("the header lacks the required column {missing:?}");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 3] = ["email", "full_name", "region"];

    fn header(names: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(names.to_vec())
    }

    #[test]
    fn columns_match_in_any_case_and_order() {
        let found = positions(&header(&[" Region", "EMAIL"]), &KNOWN, &KNOWN[..1]).unwrap();
        assert_eq!(found["email"], 1);
        assert_eq!(found["region"], 0);
    }

    #[test]
    fn unknown_repeated_and_missing_columns_refuse_the_file() {
        for (names, says) in [
            (&["email", "age"][..], "unknown column \"age\""),
            (&["email", "Email"][..], "appears twice"),
            (&["region"][..], "lacks the required column \"email\""),
        ] {
            let err = positions(&header(names), &KNOWN, &KNOWN[..1]).unwrap_err();
            assert!(err.to_string().contains(says), "{names:?}: {err}");
        }
    }
}
