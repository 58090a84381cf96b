//! A secret value (the HS256 key) that never shows in `Debug` output, so
//! logging a configuration cannot leak it.

use std::fmt;
use std::str::FromStr;

/// A secret string: `{:?}` prints `Secret(..)`; [`Secret::expose`] is the
/// one way to the value, named so that a reader sees where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for signing and verifying.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_value() {
        let secret = Secret::new("a-local-secret-of-at-least-32-characters");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(secret.expose(), "a-local-secret-of-at-least-32-characters");
        let config = super::super::AuthConfig::hs256(secret.expose());
        assert!(!format!("{config:?}").contains("a-local-secret"));
    }
}
