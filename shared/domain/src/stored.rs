//! Enumerations a service stores as text (states, levels), read back by
//! their stored names.

use crate::DomainError;

/// The value among `known` whose stored name (`name`) is `value`. Any other
/// text means the row was corrupted: INTERNAL, naming `what` it should be.
pub fn parse<T: Copy>(
    known: &[T],
    name: fn(T) -> &'static str,
    what: &str,
    value: &str,
) -> Result<T, DomainError> {
    known
        .iter()
        .copied()
        .find(|k| name(*k) == value)
        .ok_or_else(|| DomainError::internal(format!("unknown stored {what} {value:?}")))
}
