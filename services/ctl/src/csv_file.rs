//! Reading an imported CSV file (`import`, `provider enrollments`,
//! `provider members`): opening it, where each known column is, and each
//! record with its line or the reason it cannot be used.

use anyhow::Context as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Opens the file to import.
pub fn open(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// The error file's default path: `<input>.errors.csv`.
pub fn default_errors_path(input: &Path) -> PathBuf {
    let mut name = input.as_os_str().to_owned();
    name.push(".errors.csv");
    PathBuf::from(name)
}

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

/// One record of the file, as read.
#[derive(Debug)]
pub enum Record<'a> {
    /// A record with as many fields as the header.
    Read(&'a csv::StringRecord),
    /// A record that cannot be used: why, and the record itself when it
    /// was read (it has another number of fields than the header).
    Refused {
        reason: String,
        record: Option<&'a csv::StringRecord>,
    },
}

/// Hands every record of `csv` to `each` with its line (1 is the header).
/// A record that is not `width` fields long, or cannot be read, comes as
/// refused, and the reading goes on: every bad row is reported at once.
pub fn each_record<R: std::io::Read>(
    csv: &mut csv::Reader<R>,
    width: usize,
    mut each: impl FnMut(u64, Record<'_>),
) {
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, csv::Position::line);
                if record.len() == width {
                    each(line, Record::Read(&record));
                } else {
                    let reason = format!("has {} fields, the header has {width}", record.len());
                    let record = Some(&record);
                    each(line, Record::Refused { reason, record });
                }
            }
            Err(err) => {
                let line = err.position().map_or(line, csv::Position::line);
                let reason = match err.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("has {len} fields, the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                    _ => format!("cannot be read: {err}"),
                };
                each(
                    line,
                    Record::Refused {
                        reason,
                        record: None,
                    },
                );
            }
        }
    }
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
