//! Dates: the day an expense was spent, and the month filter.

use chrono::{Datelike, Days, NaiveDate};

/// How far into the future a spent date may lie (time zones and travel bookings).
pub const FUTURE_SLACK_DAYS: u64 = 3;

/// A plausible day an expense was spent: from 2000-01-01 to a few days after `today`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpentOn(NaiveDate);

impl SpentOn {
    /// The earliest accepted date.
    #[must_use]
    pub fn earliest() -> NaiveDate {
        NaiveDate::from_ymd_opt(2000, 1, 1).expect("2000-01-01 is a valid date")
    }

    /// Parses `YYYY-MM-DD` and checks it against `today` (UTC in the service).
    ///
    /// # Errors
    /// A user-facing message for a malformed, too old or too far future date.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter the date the money was spent.".into());
        }
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|_| s.len() == 10)
            .ok_or("Enter a date like 2026-01-31.")?;
        if date < Self::earliest() {
            return Err("The date cannot be before 2000-01-01.".into());
        }
        let latest = today
            .checked_add_days(Days::new(FUTURE_SLACK_DAYS))
            .unwrap_or(today);
        if date > latest {
            return Err("The date cannot be more than a few days in the future.".into());
        }
        Ok(Self(date))
    }

    /// The date.
    #[must_use]
    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// Its month as `YYYY-MM` (what totals group by).
    #[must_use]
    pub fn month(self) -> Month {
        Month::of(self.0)
    }
}

/// A calendar month, `YYYY-MM`, between 2000-01 and 9999-12.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month containing `date`.
    #[must_use]
    pub fn of(date: NaiveDate) -> Self {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Parses `YYYY-MM`.
    ///
    /// # Errors
    /// A user-facing message when malformed or out of range.
    pub fn parse(input: &str) -> Result<Self, String> {
        let bad = || "Enter a month like 2026-01.".to_string();
        let s = input.trim();
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || year < 2000 {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// `YYYY-MM`.
    #[must_use]
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn sane_dates_only() {
        let today = d("2026-11-23");
        assert_eq!(
            SpentOn::parse("2026-11-01", today).unwrap().date(),
            d("2026-11-01")
        );
        assert!(SpentOn::parse("2000-01-01", today).is_ok());
        assert!(SpentOn::parse("2026-11-26", today).is_ok());
        for bad in [
            "",
            "1999-12-31",
            "2026-11-27",
            "2026-02-30",
            "26-11-01",
            "2026-1-1",
            "tomorrow",
            "+2026-11-01",
        ] {
            assert!(SpentOn::parse(bad, today).is_err(), "{bad} accepted");
        }
        assert_eq!(
            SpentOn::parse("2026-11-01", today).unwrap().month().key(),
            "2026-11"
        );
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(Month::parse("2026-01").unwrap().key(), "2026-01");
        for bad in [
            "",
            "2026-13",
            "2026-00",
            "2026-1",
            "1999-12",
            "2026/01",
            "abcd-ef",
            "2026-01-01",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
