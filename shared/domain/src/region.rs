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

    /// The region when not known (a provider export without it), stored,
    /// carried in events and reported as "unknown". Not one of `ALL`.
    pub const UNKNOWN: Region = Region(crate::learner::UNKNOWN);

    /// Other spellings read as a canonical name: the English ones the
    /// contract once listed.
    const ALIASES: [(&'static str, &'static str); 2] = [
        ("Mountainous Shirvan", "Daglig Shirvan"),
        ("Mil-Mughan", "Mil-Mugan"),
    ];

    /// Accepts a canonical name (or an alias) in any case, with spaces,
    /// hyphens or underscores between words ("ganja_dashkasan" is
    /// "Ganja-Dashkasan").
    ///
    /// "unknown" (any case) is the explicit unknown region, [`Region::UNKNOWN`].
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let key = comparable(raw);
        if key.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        if key == crate::learner::UNKNOWN {
            return Ok(Self::UNKNOWN);
        }
        let canonical = Self::ALIASES
            .iter()
            .find(|(alias, _)| comparable(alias) == key)
            .map_or(key, |(_, name)| comparable(name));
        Self::ALL
            .iter()
            .find(|name| comparable(name) == canonical)
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
    fn the_contract_lists_exactly_the_names_the_server_stores() {
        let proto = include_str!("../../../proto/academy/learner/v1/learner.proto");
        let start = proto
            .find("One of the 14 economic regions")
            .expect("the region comment");
        let line_start = proto[..start].rfind('\n').map_or(0, |i| i + 1);
        let comment: String = proto[line_start..]
            .lines()
            .take_while(|line| line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join(" ");
        let listed_until = comment.find("Case,").unwrap_or(comment.len());
        let listed: Vec<&str> = comment[..listed_until]
            .split('"')
            .skip(1)
            .step_by(2)
            .collect();
        assert_eq!(listed, Region::ALL, "{comment}");
        for (alias, name) in Region::ALIASES {
            assert_eq!(Region::parse("r", alias).map(|r| r.as_str()), Ok(name));
            assert!(
                comment.contains(&format!("\"{alias}\"")),
                "{alias} documented"
            );
        }
    }

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
    fn reads_the_explicit_unknown() {
        assert_eq!(Region::parse("r", " Unknown ").unwrap(), Region::UNKNOWN);
        assert_eq!(Region::UNKNOWN.as_str(), "unknown");
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
