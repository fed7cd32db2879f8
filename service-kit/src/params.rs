//! The one rule for whole numbers in query strings and forms, used by every parameter of
//! both services (`page`, `page_size`, `per_page`): ASCII digits only (surrounding spaces
//! ignored; no sign, no exponent), within a range the caller names. Anything else — text,
//! `0` where 1 is the least, or a number too large for any integer type — is one
//! [`OutOfRange`] whose message names the parameter and the range, so the service answers
//! `400` and no value that reaches the database can overflow `i64`/`u64` arithmetic
//! (`page` ≤ [`MAX_PAGE`] and a page size ≤ 1000 keep `page × size` below 2^40).

use std::fmt;
use std::ops::RangeInclusive;

/// The largest page number either service accepts.
pub const MAX_PAGE: u64 = 1_000_000;

/// A parameter that is not a whole number in its range (the message is for people).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// The parameter's name.
    pub name: &'static str,
    /// The least accepted value.
    pub min: u64,
    /// The greatest accepted value.
    pub max: u64,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} must be a whole number between {} and {}.",
            self.name, self.min, self.max
        )
    }
}

impl std::error::Error for OutOfRange {}

/// Parses `raw` as a whole number within `range` (see the module's rule).
///
/// # Errors
/// [`OutOfRange`] naming `name` and the range for anything else.
pub fn bounded(
    name: &'static str,
    raw: &str,
    range: RangeInclusive<u64>,
) -> Result<u64, OutOfRange> {
    let refused = || OutOfRange {
        name,
        min: *range.start(),
        max: *range.end(),
    };
    let digits = raw.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused());
    }
    // Only digits remain, so the parse fails only when the number exceeds u64.
    let value = digits.parse::<u64>().map_err(|_| refused())?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(refused())
    }
}

/// An optional parameter: absent, empty or blank → `default`, else [`bounded`].
///
/// # Errors
/// As [`bounded`].
pub fn bounded_or(
    name: &'static str,
    raw: Option<&str>,
    range: RangeInclusive<u64>,
    default: u64,
) -> Result<u64, OutOfRange> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => bounded(name, s, range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_in_range_pass() {
        assert_eq!(bounded("page", "1", 1..=MAX_PAGE), Ok(1));
        assert_eq!(bounded("page", " 007 ", 1..=MAX_PAGE), Ok(7));
        assert_eq!(bounded("page", "1000000", 1..=MAX_PAGE), Ok(MAX_PAGE));
        assert_eq!(bounded_or("page", None, 1..=MAX_PAGE, 1), Ok(1));
        assert_eq!(bounded_or("page", Some("  "), 1..=MAX_PAGE, 1), Ok(1));
        assert_eq!(bounded_or("page_size", Some("50"), 1..=100, 20), Ok(50));
    }

    #[test]
    fn everything_else_is_refused_with_a_message_naming_the_range() {
        for bad in [
            "0",
            "1000001",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "99999999999999999999999999999999",
            "-1",
            "+1",
            "1e3",
            "1.0",
            "0x10",
            "abc",
            "١",
            "",
            "1 2",
        ] {
            let err = bounded("page", bad, 1..=MAX_PAGE).unwrap_err();
            assert_eq!(
                err.to_string(),
                "page must be a whole number between 1 and 1000000.",
                "{bad}"
            );
        }
    }
}
