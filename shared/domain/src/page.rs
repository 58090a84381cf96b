//! Keyset pagination (AIP-158): page sizes and opaque page tokens.
//!
//! A token carries the sort key of the last row returned and a fingerprint of
//! the filters it was issued for, so a token cannot silently be replayed
//! against a different query.

use crate::FieldViolation;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page served; larger requests are coerced down, as AIP-158 asks.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A validated list request: how many rows, and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u64,
    /// Sort key of the last row of the previous page, if any.
    pub after: Option<String>,
    filters: u64,
}

impl PageRequest {
    /// Validates `page_size` and `page_token` for a query with the given
    /// filter description (any string that changes when the filters do).
    pub fn parse(page_size: i32, page_token: &str, filters: &str) -> Result<Self, FieldViolation> {
        let size = match page_size {
            n if n < 0 => return Err(FieldViolation::new("page_size", "must not be negative")),
            0 => DEFAULT_PAGE_SIZE,
            n => (n as u64).min(MAX_PAGE_SIZE),
        };
        let fingerprint = fingerprint(filters);
        let after = if page_token.is_empty() {
            None
        } else {
            let token = PageToken::decode(page_token)
                .ok_or_else(|| FieldViolation::new("page_token", "is not a valid page token"))?;
            if token.filters != fingerprint {
                return Err(FieldViolation::new(
                    "page_token",
                    "was issued for different filters",
                ));
            }
            Some(token.after)
        };
        Ok(Self {
            size,
            after,
            filters: fingerprint,
        })
    }

    /// How many rows to fetch: one more than the page, to learn whether
    /// another page follows without a second query.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }

    /// Cuts the fetched rows to the page and makes the next token, if any.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
        if rows.len() as u64 <= self.size {
            return (rows, String::new());
        }
        rows.truncate(self.size as usize);
        let next = self.next_token(&rows, key);
        (rows, next)
    }
}

impl PageRequest {
    /// The token for the page after `rows`: it continues after the last row.
    fn next_token<T>(&self, rows: &[T], key: impl Fn(&T) -> String) -> String {
        rows.last()
            .map(|row| {
                PageToken {
                    after: key(row),
                    filters: self.filters,
                }
                .encode()
            })
            .unwrap_or_default()
    }

    /// Like [`PageRequest::finish`], and also ends the page before its
    /// items' `size` (their encoded bytes) passes `budget`, so a page of
    /// large items stays below the message limit; a page holds at least
    /// one item. The next token continues after the last item kept.
    pub fn finish_within<T>(
        &self,
        rows: Vec<T>,
        key: impl Fn(&T) -> String,
        size: impl Fn(&T) -> usize,
        budget: usize,
    ) -> (Vec<T>, String) {
        let mut total = 0usize;
        let fits = rows
            .iter()
            .take(usize::try_from(self.size).unwrap_or(usize::MAX))
            .take_while(|row| {
                total = total.saturating_add(size(row));
                total <= budget
            })
            .count()
            .max(1);
        if rows.len() as u64 <= self.size && fits >= rows.len() {
            return (rows, String::new());
        }
        let mut rows = rows;
        rows.truncate(fits);
        let next = self.next_token(&rows, key);
        (rows, next)
    }
}

/// Longest sort key a page token may carry; keys are ids (36 characters).
pub const MAX_KEY_LEN: usize = 128;
/// Longest page token accepted, far above any token this system issues.
pub const MAX_TOKEN_LEN: usize = 1024;

/// The decoded form of a page token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    #[serde(rename = "a")]
    pub after: String,
    #[serde(rename = "f")]
    pub filters: u64,
}

impl PageToken {
    pub fn encode(&self) -> String {
        // Serialising two plain fields cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// A token's key as this system issues it (a resource id), or `None`.
    /// Tokens are opaque, not secret: a forged key that is huge or holds
    /// control characters (PostgreSQL cannot even store a NUL) is refused
    /// here rather than failing in the database.
    pub fn decode(token: &str) -> Option<Self> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let token: Self = serde_json::from_slice(&bytes).ok()?;
        let plausible = !token.after.is_empty()
            && token.after.len() <= MAX_KEY_LEN
            && !token.after.chars().any(char::is_control);
        plausible.then_some(token)
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn a_page_ends_before_its_bytes_pass_the_budget() {
        let page = PageRequest::parse(0, "", "f").expect("page");
        let rows: Vec<String> = (0..10).map(|i| format!("{i:02}")).collect();
        let (kept, next) = page.finish_within(rows.clone(), Clone::clone, |_| 100, 350);
        assert_eq!(kept, ["00", "01", "02"]);
        let token = PageToken::decode(&next).expect("token");
        assert_eq!(token.after, "02");
        let (kept, next) = page.finish_within(rows.clone(), Clone::clone, |_| 100, 10_000);
        assert_eq!((kept.len(), next.as_str()), (10, ""), "all fit: no token");
        let (kept, next) = page.finish_within(rows, Clone::clone, |_| 1_000, 10);
        assert_eq!(kept, ["00"], "at least one row");
        assert!(!next.is_empty());
    }
}

/// FNV-1a: stable across builds and processes, unlike `DefaultHasher`.
fn fingerprint(filters: &str) -> u64 {
    filters.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_default_and_cap() {
        assert_eq!(PageRequest::parse(0, "", "").unwrap().size, 50);
        assert_eq!(PageRequest::parse(5000, "", "").unwrap().size, 1000);
        assert!(PageRequest::parse(-1, "", "").is_err());
    }

    #[test]
    fn token_round_trips_only_for_the_same_filters() {
        let page = PageRequest::parse(2, "", "state=1").unwrap();
        let (rows, next) = page.finish(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(rows, vec!["a", "b"]);
        let again = PageRequest::parse(2, &next, "state=1").unwrap();
        assert_eq!(again.after.as_deref(), Some("b"));
        assert_eq!(
            PageRequest::parse(2, &next, "state=2")
                .unwrap_err()
                .description,
            "was issued for different filters"
        );
        assert!(PageRequest::parse(2, "!!garbage", "").is_err());
    }

    #[test]
    fn forged_keys_are_not_valid_tokens() {
        let filters = fingerprint("");
        for after in ["", "\0", "a\u{1b}b", &"x".repeat(MAX_KEY_LEN + 1)] {
            let forged = PageToken {
                after: after.to_owned(),
                filters,
            }
            .encode();
            assert_eq!(
                PageRequest::parse(2, &forged, "").unwrap_err().description,
                "is not a valid page token",
                "{after:?}"
            );
        }
        assert!(PageRequest::parse(2, &"A".repeat(MAX_TOKEN_LEN + 1), "").is_err());
    }

    #[test]
    fn last_page_has_no_token() {
        let page = PageRequest::parse(3, "", "").unwrap();
        let (rows, next) = page.finish(vec![1, 2, 3], |n| n.to_string());
        assert_eq!(rows.len(), 3);
        assert!(next.is_empty());
    }
}
