//! Settings of the password-guessing limits (`THROTTLE_*`), in the workspace's one
//! grammar. Defaults are the contract's: 5 checks per account and client address, 50 per
//! account from all addresses, 50 per address across accounts, in a 15-minute window.

use std::time::Duration;

use shared_jwt::config::{ConfigError, Vars};

/// The longest window: the contract promises that no lock outlasts 15 minutes.
pub const MAX_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The largest count a limit may be (each allowed check is one row per bucket).
pub const MAX_LIMIT: u32 = 10_000;

/// Password-guessing limits (kept in the database, shared by instances).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// `THROTTLE_ACCOUNT_ADDRESS_MAX`: password checks per account and client address
    /// (IPv6: per /64) inside `window`; default 5.
    pub account_address_max: u32,
    /// `THROTTLE_ACCOUNT_MAX`: password checks per account from all addresses inside
    /// `window`; default 50 (at least `account_address_max`).
    pub account_max: u32,
    /// `THROTTLE_ADDRESS_MAX`: failed checks per client address across all accounts
    /// inside `window`; default 50.
    pub address_max: u32,
    /// `THROTTLE_WINDOW`: the sliding window, also the longest lock; default and
    /// maximum 15 minutes.
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            account_address_max: 5,
            account_max: 50,
            address_max: 50,
            window: MAX_WINDOW,
        }
    }
}

impl ThrottleSettings {
    /// Reads the `THROTTLE_*` variables.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first malformed variable: a count that is not a whole
    /// number from 1 to 10000, an account limit below the per-address one, a window of
    /// zero or longer than 15 minutes.
    pub fn read(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let account_address_max =
            count(vars, "THROTTLE_ACCOUNT_ADDRESS_MAX", d.account_address_max)?;
        let account_max = count(vars, "THROTTLE_ACCOUNT_MAX", d.account_max)?;
        if account_max < account_address_max {
            return Err(ConfigError::new(
                "THROTTLE_ACCOUNT_MAX",
                "must be at least THROTTLE_ACCOUNT_ADDRESS_MAX",
            ));
        }
        let address_max = count(vars, "THROTTLE_ADDRESS_MAX", d.address_max)?;
        let window = vars.lifetime("THROTTLE_WINDOW", "15m")?;
        if window > MAX_WINDOW {
            return Err(ConfigError::new(
                "THROTTLE_WINDOW",
                "at most 15m (no lock may last longer)",
            ));
        }
        Ok(Self {
            account_address_max,
            account_max,
            address_max,
            window,
        })
    }
}

fn count(vars: &Vars<'_>, name: &'static str, default: u32) -> Result<u32, ConfigError> {
    vars.parse(name, &default.to_string(), |v| {
        v.parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("expected a whole number from 1 to {MAX_LIMIT}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<ThrottleSettings, ConfigError> {
        let get = test_support::settings_lookup(pairs.iter().copied());
        ThrottleSettings::read(&Vars::new(&get))
    }

    #[test]
    fn defaults_are_the_contracts() {
        let s = read(&[]).unwrap();
        assert_eq!(s, ThrottleSettings::default());
        assert_eq!(s.account_address_max, 5);
        assert_eq!(s.account_max, 50);
        assert_eq!(s.address_max, 50);
        assert_eq!(s.window, Duration::from_secs(900));
    }

    #[test]
    fn values_are_read_in_the_workspace_grammar() {
        let s = read(&[
            ("THROTTLE_ACCOUNT_ADDRESS_MAX", "3"),
            ("THROTTLE_ACCOUNT_MAX", " 20 "),
            ("THROTTLE_ADDRESS_MAX", "100"),
            ("THROTTLE_WINDOW", "10m"),
        ])
        .unwrap();
        assert_eq!(
            s,
            ThrottleSettings {
                account_address_max: 3,
                account_max: 20,
                address_max: 100,
                window: Duration::from_secs(600),
            }
        );
    }

    #[test]
    fn zero_and_nonsense_are_refused_naming_the_variable() {
        for (var, value) in [
            ("THROTTLE_ACCOUNT_ADDRESS_MAX", "0"),
            ("THROTTLE_ACCOUNT_ADDRESS_MAX", "-1"),
            ("THROTTLE_ACCOUNT_ADDRESS_MAX", "five"),
            ("THROTTLE_ACCOUNT_MAX", "0"),
            ("THROTTLE_ACCOUNT_MAX", "4"),
            ("THROTTLE_ACCOUNT_MAX", "99999999999"),
            ("THROTTLE_ADDRESS_MAX", "0"),
            ("THROTTLE_ADDRESS_MAX", "10001"),
            ("THROTTLE_ADDRESS_MAX", "2.5"),
            ("THROTTLE_WINDOW", "0"),
            ("THROTTLE_WINDOW", "16m"),
            ("THROTTLE_WINDOW", "1h"),
            ("THROTTLE_WINDOW", "soon"),
        ] {
            let err = read(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid setting {var}: ")),
                "{err}"
            );
        }
    }
}
