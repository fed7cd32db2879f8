//! Money: an amount in integer minor units of a known currency. Never a float.

use std::fmt;

use super::currency::Currency;

/// Exclusive upper bound of an amount, in minor units (10^12).
pub const MAX_MINOR: i64 = 1_000_000_000_000;

/// A positive amount below [`MAX_MINOR`] minor units of a known currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Parses decimal input such as `12.34` (or `12`, `12.3`) in the currency's minor units:
    /// no sign, no exponent, no grouping separators, at most as many decimals as the currency
    /// has (so `1.5` JPY is refused rather than rounded).
    ///
    /// # Errors
    /// A user-facing message saying what is wrong with the amount.
    pub fn parse(input: &str, currency: Currency) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter an amount.".into());
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(int) || (int.is_empty() && frac.is_none_or(str::is_empty)) {
            return Err(Self::format_hint(currency));
        }
        let frac = frac.unwrap_or("");
        if !digits_only(frac) {
            return Err(Self::format_hint(currency));
        }
        let units = usize::from(currency.minor_units());
        if frac.len() > units {
            return Err(if units == 0 {
                format!(
                    "{} has no minor units: enter a whole amount.",
                    currency.code()
                )
            } else {
                format!("Use at most {units} decimals for {}.", currency.code())
            });
        }
        // Too many digits cannot fit below the bound anyway; refuse before any arithmetic.
        let int = int.trim_start_matches('0');
        if int.len() + units > 12 {
            return Err(Self::too_large(currency));
        }
        let mut minor: i64 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            minor = minor * 10 + i64::from(b - b'0');
        }
        for _ in frac.len()..units {
            minor *= 10;
        }
        Self::from_minor(minor, currency)
    }

    /// Checks an amount already in minor units (from the database or a JSON integer).
    ///
    /// # Errors
    /// A user-facing message when the amount is not above 0 and below 10^12 minor units.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, String> {
        if minor <= 0 {
            Err("The amount must be greater than zero.".into())
        } else if minor >= MAX_MINOR {
            Err(Self::too_large(currency))
        } else {
            Ok(Money { minor, currency })
        }
    }

    fn too_large(currency: Currency) -> String {
        format!(
            "The amount is too large (at most {}).",
            format_minor(MAX_MINOR - 1, currency)
        )
    }

    fn format_hint(currency: Currency) -> String {
        match currency.minor_units() {
            0 => "Enter a whole amount, like 1200.".into(),
            n => format!("Enter an amount like 12.{}.", &"3456"[..usize::from(n)]),
        }
    }

    /// The amount in minor units.
    #[must_use]
    pub fn minor(self) -> i64 {
        self.minor
    }

    /// The currency.
    #[must_use]
    pub fn currency(self) -> Currency {
        self.currency
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            format_minor(self.minor, self.currency),
            self.currency
        )
    }
}

/// Whether `input` is digits with at most one `.` and at least one non-zero digit (the part
/// of [`Money::parse`] that doesn't depend on the currency).
#[must_use]
pub fn looks_like_positive_decimal(input: &str) -> bool {
    let s = input.trim();
    s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|b| *b == b'.').count() <= 1
        && s.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// Formats minor units as a plain decimal (`1234` EUR → `12.34`; negative sums keep the sign).
#[must_use]
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let units = u32::from(currency.minor_units());
    if units == 0 {
        return minor.to_string();
    }
    let scale = 10_i128.pow(units);
    let m = i128::from(minor);
    let sign = if m < 0 { "-" } else { "" };
    let m = m.abs();
    format!(
        "{sign}{}.{:0width$}",
        m / scale,
        m % scale,
        width = units as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    #[test]
    fn decimal_input_becomes_minor_units() {
        assert_eq!(Money::parse("12.34", cur("EUR")).unwrap().minor(), 1234);
        assert_eq!(Money::parse("12.3", cur("EUR")).unwrap().minor(), 1230);
        assert_eq!(Money::parse(" 12 ", cur("EUR")).unwrap().minor(), 1200);
        assert_eq!(Money::parse(".5", cur("EUR")).unwrap().minor(), 50);
        assert_eq!(Money::parse("7.", cur("EUR")).unwrap().minor(), 700);
        assert_eq!(Money::parse("1200", cur("JPY")).unwrap().minor(), 1200);
        assert_eq!(Money::parse("1.234", cur("KWD")).unwrap().minor(), 1234);
        assert_eq!(Money::parse("0.01", cur("USD")).unwrap().minor(), 1);
        assert_eq!(
            Money::parse("9999999999.99", cur("USD")).unwrap().minor(),
            MAX_MINOR - 1
        );
    }

    #[test]
    fn bad_amounts_are_refused() {
        let eur = cur("EUR");
        for bad in [
            "",
            " ",
            ".",
            "0",
            "0.00",
            "-1",
            "+1",
            "1e3",
            "1,50",
            "1 000",
            "12.345",
            "abc",
            "10000000000.00",
            "99999999999999999999999",
            "1..2",
            "NaN",
            "١٢",
        ] {
            assert!(Money::parse(bad, eur).is_err(), "{bad:?} accepted");
        }
        assert!(Money::parse("1.5", cur("JPY")).is_err());
        assert!(Money::parse("1000000000000", cur("JPY")).is_err());
        assert!(Money::from_minor(0, eur).is_err());
        assert!(Money::from_minor(MAX_MINOR, eur).is_err());
    }

    #[test]
    fn shape_check_without_currency() {
        assert!(looks_like_positive_decimal("12.34"));
        assert!(looks_like_positive_decimal(" 0.5 "));
        for bad in ["", "0", "0.00", "-1", "1.2.3", "1e5", "abc"] {
            assert!(!looks_like_positive_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn formatting_follows_minor_units() {
        assert_eq!(format_minor(1234, cur("EUR")), "12.34");
        assert_eq!(format_minor(5, cur("EUR")), "0.05");
        assert_eq!(format_minor(-5, cur("EUR")), "-0.05");
        assert_eq!(format_minor(1200, cur("JPY")), "1200");
        assert_eq!(format_minor(1, cur("KWD")), "0.001");
        assert_eq!(
            Money::parse("3.5", cur("GBP")).unwrap().to_string(),
            "3.50 GBP"
        );
    }
}
