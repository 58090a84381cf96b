//! The economic regions of Azerbaijan, the geography the program reports on.

use crate::FieldViolation;
use std::fmt;

/// One of the 14 economic regions (2021 division). Stored and reported by its
/// canonical English name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(&'static str);

impl Region {
    /// Canonical names, in the order the State Statistics Committee lists them.
    pub const ALL: [&'static str; 14] = [
        "Baku",
        "Nakhchivan",
        "Absheron-Khizi",
        "Daglig Shirvan",
        "Ganja-Dashkasan",
        "Karabakh",
        "Gazakh-Tovuz",
        "Guba-Khachmaz",
        "Lankaran-Astara",
        "Central Aran",
        "Mil-Mugan",
        "Shaki-Zagatala",
        "East Zangezur",
        "Shirvan-Salyan",
    ];

    /// Accepts a canonical name in any case, with spaces, hyphens or
    /// underscores between words ("ganja_dashkasan" is "Ganja-Dashkasan").
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let key = comparable(raw);
        if key.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        Self::ALL
            .iter()
            .find(|name| comparable(name) == key)
            .map(|name| Self(name))
            .ok_or_else(|| {
                FieldViolation::new(field, format!("must be one of: {}", Self::ALL.join(", ")))
            })
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn comparable(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter_map(|c| match c {
            ' ' | '-' | '_' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loose_spellings_to_canonical_names() {
        assert_eq!(Region::parse("r", "baku").unwrap().as_str(), "Baku");
        assert_eq!(
            Region::parse("r", "ganja_dashkasan").unwrap().as_str(),
            "Ganja-Dashkasan"
        );
        assert_eq!(
            Region::parse("r", " central aran ").unwrap().as_str(),
            "Central Aran"
        );
    }

    #[test]
    fn rejects_unknown_regions() {
        assert!(Region::parse("r", "Atlantis").is_err());
        assert_eq!(
            Region::parse("r", "").unwrap_err().description,
            "is required"
        );
    }
}
