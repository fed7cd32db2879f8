//! Per-address rate-limit settings: one `RATE_LIMIT_*` variable per [`Limit`], each a
//! [`Rate`] written `N/DURATION` (a burst of `N` requests, refilled evenly over
//! `DURATION`, in the workspace's duration grammar), and `RATE_LIMIT_MAX_ADDRESSES`, the
//! most addresses one limit remembers. Enforced by [`crate::request::rate_limit`].

use std::num::NonZeroU32;
use std::time::Duration;

use shared_jwt::config::{DURATION_GRAMMAR, Vars, parse_duration};

use super::ConfigError;

/// What a per-address limit protects; requests of one kind share one bucket per address
/// (`POST /login` and `POST jwt/create/` are both [`Limit::SignIn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `POST /login`, `POST jwt/create/`.
    SignIn,
    /// `POST /register`, `POST users/`.
    SignUp,
    /// `GET /refresh`, `GET /login` and the account page when they present a refresh
    /// cookie, `POST jwt/refresh/`.
    Refresh,
    /// `POST jwt/verify/`, `POST jwt/revoke/`.
    TokenCheck,
    /// `POST users/set_password/`.
    SetPassword,
    /// Password-reset requests (the e-mail flow; its endpoints are still to come).
    PasswordReset,
    /// Invitation acceptance (its endpoint is still to come).
    Invitation,
}

impl Limit {
    /// The `limit` label of `auth_throttled_requests_total`.
    #[must_use]
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignUp => "sign_up",
            Self::Refresh => "refresh",
            Self::TokenCheck => "token_check",
            Self::SetPassword => "set_password",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
        }
    }

    /// Every limit, in the order of [`Limit::index`].
    pub const ALL: [Self; 7] = [
        Self::SignIn,
        Self::SignUp,
        Self::Refresh,
        Self::TokenCheck,
        Self::SetPassword,
        Self::PasswordReset,
        Self::Invitation,
    ];

    /// Position in [`Limit::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its environment variable.
    #[must_use]
    pub fn variable(self) -> &'static str {
        match self {
            Self::SignIn => "RATE_LIMIT_SIGN_IN",
            Self::SignUp => "RATE_LIMIT_SIGN_UP",
            Self::Refresh => "RATE_LIMIT_REFRESH",
            Self::TokenCheck => "RATE_LIMIT_TOKEN_CHECK",
            Self::SetPassword => "RATE_LIMIT_SET_PASSWORD",
            Self::PasswordReset => "RATE_LIMIT_PASSWORD_RESET",
            Self::Invitation => "RATE_LIMIT_INVITATION",
        }
    }

    /// Its default (documented in the README's limits table).
    #[must_use]
    pub fn default_rate(self) -> &'static str {
        match self {
            Self::SignIn => "10/1m",
            Self::SignUp => "20/1h",
            Self::Refresh | Self::TokenCheck => "60/1m",
            Self::SetPassword | Self::Invitation => "10/1h",
            Self::PasswordReset => "5/1h",
        }
    }
}

/// A token bucket: `burst` requests at once, then one more every `per / burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// The bucket's size.
    pub burst: NonZeroU32,
    /// How long an empty bucket takes to fill again.
    pub per: Duration,
}

/// The largest burst: keeps `per / burst` at a microsecond or more.
const MAX_BURST: u32 = 1_000_000;

impl Rate {
    /// `burst` requests per `per` (for tests; both clamped to what [`Rate::parse`] accepts).
    #[must_use]
    pub fn new(burst: u32, per: Duration) -> Self {
        Self {
            burst: NonZeroU32::new(burst.clamp(1, MAX_BURST)).unwrap_or(NonZeroU32::MIN),
            per: per.max(Duration::from_secs(1)),
        }
    }

    /// Parses `N/DURATION`, e.g. `10/1m` or `5/1h 30m`: `N` from 1 to 1,000,000, the
    /// duration at least one second.
    ///
    /// # Errors
    /// What is wrong, in words (never the value).
    pub fn parse(text: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "expected N/DURATION such as 10/1m (N from 1 to {MAX_BURST}; DURATION {DURATION_GRAMMAR}, at least 1s)"
            )
        };
        let (n, per) = text.split_once('/').ok_or_else(expected)?;
        let burst = n
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_BURST).contains(n))
            .and_then(NonZeroU32::new)
            .ok_or_else(expected)?;
        let per = parse_duration(per)
            .filter(|d| *d >= Duration::from_secs(1))
            .ok_or_else(expected)?;
        Ok(Self { burst, per })
    }

    /// The time one token takes to come back (never zero).
    #[must_use]
    pub fn refill_every(&self) -> Duration {
        (self.per / self.burst.get()).max(Duration::from_nanos(1))
    }
}

/// Every per-address limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    rates: [Rate; Limit::ALL.len()],
    /// `RATE_LIMIT_MAX_ADDRESSES`: addresses one limit remembers at most (default 100,000).
    pub max_addresses: usize,
}

impl RateLimitSettings {
    /// Reads every `RATE_LIMIT_*` variable.
    ///
    /// # Errors
    /// The first malformed one.
    pub fn read(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let mut rates = [Rate::new(1, Duration::from_secs(1)); Limit::ALL.len()];
        for limit in Limit::ALL {
            rates[limit.index()] =
                vars.parse(limit.variable(), limit.default_rate(), Rate::parse)?;
        }
        let max_addresses = vars.parse("RATE_LIMIT_MAX_ADDRESSES", "100000", |v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (100..=100_000_000).contains(n))
                .ok_or_else(|| "expected a number from 100 to 100000000".to_owned())
        })?;
        Ok(Self {
            rates,
            max_addresses,
        })
    }

    /// The rate of `limit`.
    #[must_use]
    pub fn rate(&self, limit: Limit) -> Rate {
        self.rates[limit.index()]
    }

    /// Changes the rate of `limit` (tests raise or lower one this way).
    pub fn set(&mut self, limit: Limit, rate: Rate) {
        self.rates[limit.index()] = rate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_the_duration_grammar() {
        let r = Rate::parse("10/1m").unwrap();
        assert_eq!((r.burst.get(), r.per), (10, Duration::from_secs(60)));
        assert_eq!(r.refill_every(), Duration::from_secs(6));
        let r = Rate::parse(" 5 / 1h 30m").unwrap();
        assert_eq!((r.burst.get(), r.per), (5, Duration::from_secs(5_400)));
        assert_eq!(Rate::parse("3/90").unwrap().per, Duration::from_secs(90));
        for bad in [
            "",
            "10",
            "0/1m",
            "-1/1m",
            "10/0",
            "10/",
            "/1m",
            "ten/1m",
            "10/1 minute",
            "2000000/1m",
            "10/1m/2",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn variables_are_read_with_their_defaults() {
        let get = |name: &str| match name {
            "RATE_LIMIT_SIGN_UP" => Some("3/1m".to_owned()),
            "RATE_LIMIT_MAX_ADDRESSES" => Some("500".to_owned()),
            _ => None,
        };
        let s = RateLimitSettings::read(&Vars::new(&get)).unwrap();
        assert_eq!(s.rate(Limit::SignUp), Rate::new(3, Duration::from_secs(60)));
        assert_eq!(s.max_addresses, 500);
        for limit in Limit::ALL {
            assert_eq!(Limit::ALL[limit.index()], limit);
            if limit != Limit::SignUp {
                assert_eq!(
                    s.rate(limit),
                    Rate::parse(limit.default_rate()).unwrap(),
                    "{limit:?}"
                );
            }
        }
        assert_eq!(
            s.rate(Limit::SignIn),
            Rate::new(10, Duration::from_secs(60))
        );
        for (name, value) in [
            ("RATE_LIMIT_SIGN_IN", "10 per minute"),
            ("RATE_LIMIT_REFRESH", "0/1m"),
            ("RATE_LIMIT_MAX_ADDRESSES", "5"),
        ] {
            let get = |n: &str| (n == name).then(|| value.to_owned());
            let err = RateLimitSettings::read(&Vars::new(&get)).unwrap_err();
            assert_eq!(err.variable, name);
        }
    }
}
