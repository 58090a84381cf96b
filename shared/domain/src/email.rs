//! E-mail addresses, normalised so that uniqueness means what people expect.

use crate::FieldViolation;
use std::fmt;

/// A syntactically plausible e-mail address, trimmed and lower-cased.
///
/// Printable ASCII only: look-alike letters (Cyrillic "а" for Latin "a",
/// full-width "ａ"), zero-width characters and bidirectional overrides
/// would otherwise let one person register twice under addresses that
/// look, and for most mail providers are, the same (issue #15).
/// Internationalised domains are given in their `xn--` (punycode) form.
///
/// Lower-casing the local part is not strictly RFC 5321, but every mail
/// provider the program's learners use treats it case-insensitively, and two
/// registrations differing only in case are the same person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        if !normalised.is_ascii() {
            return Err(FieldViolation::new(
                field,
                "must be ASCII (look-alike, full-width and invisible characters are refused; \
                 give an internationalised domain in its xn-- form)",
            ));
        }
        if normalised.len() > Self::MAX_LEN {
            return Err(FieldViolation::new(
                field,
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let Some((local, domain)) = normalised.rsplit_once('@') else {
            return Err(FieldViolation::new(field, "must contain '@'"));
        };
        // Quoted local parts may hold an '@'; nobody registers with one here.
        let valid = !local.is_empty()
            && !local.contains('@')
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !normalised
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err(FieldViolation::new(field, "is not a valid e-mail address"));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        let email = Email::parse("email", "  Aysel.Mammadova@Example.AZ ").unwrap();
        assert_eq!(email.as_str(), "aysel.mammadova@example.az");
    }

    #[test]
    fn refuses_look_alike_and_invisible_characters() {
        for spoof in [
            "\u{430}ysel@example.az",   // Cyrillic а
            "ａysel@example.az",        // full-width
            "ay\u{200B}sel@example.az", // zero-width space
            "aysel\u{202E}@example.az", // right-to-left override
            "aysel@ex\u{0430}mple.az",  // Cyrillic in the domain
            "aysel@example.az\u{FEFF}", // byte-order mark
            "ayşel@example.az",
        ] {
            let err = Email::parse("email", spoof).unwrap_err();
            assert!(err.description.contains("ASCII"), "{spoof:?}: {err}");
        }
        assert!(Email::parse("email", "aysel@xn--80ak6aa92e.com").is_ok());
    }

    #[test]
    fn rejects_implausible_addresses() {
        for bad in [
            "",
            "no-at-sign",
            "@example.az",
            "a@b",
            "a@.az",
            "a b@example.az",
            "a@x..az",
            "a@@example.az",
            "a@b@example.az",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} accepted");
        }
    }
}
