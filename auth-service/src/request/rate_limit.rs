//! Per-address rate limits: a token bucket per client address and [`Limit`] (governor's
//! keyed limiter, per replica), counted before any work. IPv6 addresses count per /64
//! ([`client_ip::network`]); the address is the one [`client_ip::resolve`] gives, so
//! behind `TRUSTED_PROXIES` it is the forwarded client's. Beyond the bucket:
//! [`AppError::RateLimited`], `429` with `Retry-After`, the error page or `{"detail": …}`.
//!
//! A route is limited by one extractor argument placed before the others, e.g.
//! `_: RateLimited<SignInAttempts>`; a handler that is limited only sometimes (the
//! refresh half of `GET /login`) calls [`RateLimits::check`].
//!
//! Memory stays bounded: every minute, and whenever a limit holds more than
//! `RATE_LIMIT_MAX_ADDRESSES` addresses, the buckets that are full again are dropped
//! (governor's `retain_recent`); if that is not enough (a flood of distinct addresses),
//! the limit forgets every address, logged as a warning. Other limits stand meanwhile:
//! sign-in's password throttle is counted in the database.

use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::request::Parts;

use super::client_ip;
use crate::config::{Limit, Rate, RateLimitSettings};
use crate::error::AppError;
use crate::state::AppState;

/// How often idle addresses are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// One limit's buckets.
struct Bucket {
    quota: Quota,
    limiter: RwLock<DefaultKeyedRateLimiter<IpAddr>>,
    /// Milliseconds after [`Inner::started`] of the last sweep.
    last_sweep: AtomicU64,
}

struct Inner {
    buckets: Vec<Bucket>,
    max_addresses: usize,
    clock: DefaultClock,
    started: Instant,
}

/// Every limit's buckets; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct RateLimits(Arc<Inner>);

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("max_addresses", &self.0.max_addresses)
            .finish_non_exhaustive()
    }
}

fn quota(rate: Rate) -> Quota {
    Quota::with_period(rate.refill_every())
        .unwrap_or_else(|| Quota::per_second(rate.burst))
        .allow_burst(rate.burst)
}

impl RateLimits {
    /// Empty buckets for every limit of `settings`.
    #[must_use]
    pub fn new(settings: &RateLimitSettings) -> Self {
        let clock = DefaultClock::default();
        let buckets = Limit::ALL
            .iter()
            .map(|&limit| {
                let quota = quota(settings.rate(limit));
                Bucket {
                    quota,
                    limiter: RwLock::new(RateLimiter::dashmap_with_clock(quota, clock.clone())),
                    last_sweep: AtomicU64::new(0),
                }
            })
            .collect();
        Self(Arc::new(Inner {
            buckets,
            max_addresses: settings.max_addresses,
            clock,
            started: Instant::now(),
        }))
    }

    /// Takes a token of `limit` for `client`'s address (its /64 for IPv6).
    ///
    /// # Errors
    /// [`AppError::RateLimited`] with the time until the next token.
    pub fn check(&self, limit: Limit, client: IpAddr) -> Result<(), AppError> {
        let bucket = &self.0.buckets[limit.index()];
        let verdict = bucket
            .limiter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .check_key(&client_ip::network(client));
        self.maintain(limit, bucket);
        verdict.map_err(|not_until| {
            crate::infra::metrics::throttled(limit.metric_label());
            AppError::RateLimited(not_until.wait_time_from(self.0.clock.now()))
        })
    }

    /// How many addresses `limit` currently remembers.
    #[must_use]
    pub fn tracked(&self, limit: Limit) -> usize {
        self.0.buckets[limit.index()]
            .limiter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The sweep of the module docs.
    fn maintain(&self, limit: Limit, bucket: &Bucket) {
        let now = u64::try_from(self.0.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = bucket.last_sweep.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= SWEEP_EVERY.as_secs() * 1000
            && bucket
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        {
            let limiter = bucket
                .limiter
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if !due && limiter.len() <= self.0.max_addresses {
                return;
            }
            limiter.retain_recent();
            limiter.shrink_to_fit();
            if limiter.len() <= self.0.max_addresses {
                return;
            }
        }
        tracing::warn!(
            limit = limit.variable(),
            max = self.0.max_addresses,
            "rate limit full of recent addresses: forgetting them all"
        );
        *bucket
            .limiter
            .write()
            .unwrap_or_else(PoisonError::into_inner) =
            RateLimiter::dashmap_with_clock(bucket.quota, self.0.clock.clone());
    }
}

/// A wait in whole seconds, rounded up, at least 1 (`Retry-After`, the messages).
#[must_use]
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
}

/// A [`Limit`] as a type, for [`RateLimited`].
pub trait LimitKind: Send + Sync + 'static {
    /// The limit.
    const LIMIT: Limit;
}

macro_rules! limit_kinds {
    ($($(#[$doc:meta])* $name:ident => $limit:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl LimitKind for $name {
            const LIMIT: Limit = Limit::$limit;
        }
    )*};
}

limit_kinds! {
    /// [`Limit::SignIn`].
    SignInAttempts => SignIn;
    /// [`Limit::SignUp`].
    SignUps => SignUp;
    /// [`Limit::Refresh`].
    Refreshes => Refresh;
    /// [`Limit::TokenCheck`].
    TokenChecks => TokenCheck;
    /// [`Limit::SetPassword`].
    PasswordChanges => SetPassword;
    /// [`Limit::PasswordReset`].
    PasswordResets => PasswordReset;
    /// [`Limit::Invitation`].
    Invitations => Invitation;
}

/// Extractor: takes a token of `K`'s limit for the client's address, or rejects the
/// request with [`AppError::RateLimited`]. Put it before the body extractor.
#[derive(Debug)]
pub struct RateLimited<K>(PhantomData<K>);

impl<K: LimitKind> FromRequestParts<AppState> for RateLimited<K> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let client = client_ip::of_request(parts, &state.settings.trusted_proxies);
        state.rate_limits.check(K::LIMIT, client)?;
        Ok(Self(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(burst: u32, max_addresses: usize) -> RateLimits {
        let mut s = crate::config::Settings::from_lookup(|_| None)
            .expect("defaults are valid")
            .rate_limits;
        s.set(Limit::SignIn, Rate::new(burst, Duration::from_secs(3600)));
        s.max_addresses = max_addresses;
        RateLimits::new(&s)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_then_429_with_the_time_until_the_next_token() {
        let l = limits(3, 100);
        for _ in 0..3 {
            l.check(Limit::SignIn, ip("198.51.100.7")).unwrap();
        }
        let Err(AppError::RateLimited(wait)) = l.check(Limit::SignIn, ip("198.51.100.7")) else {
            panic!("the fourth attempt passed");
        };
        // One token per 20 minutes.
        assert!(wait > Duration::from_secs(1_190) && wait <= Duration::from_secs(1_200));
        // Other addresses and other limits have their own buckets.
        l.check(Limit::SignIn, ip("198.51.100.8")).unwrap();
        l.check(Limit::SignUp, ip("198.51.100.7")).unwrap();
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(5_001)), 6);
        assert_eq!(retry_after_secs(Duration::from_secs(60)), 60);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let l = limits(1, 100);
        l.check(Limit::SignIn, ip("2001:db8:1:2::1")).unwrap();
        assert!(l.check(Limit::SignIn, ip("2001:db8:1:2:ffff::9")).is_err());
        l.check(Limit::SignIn, ip("2001:db8:1:3::1")).unwrap();
        l.check(Limit::SignIn, ip("198.51.100.7")).unwrap();
        assert!(l.check(Limit::SignIn, ip("::ffff:198.51.100.7")).is_err());
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses() {
        let l = limits(1, 100);
        for i in 0..5_000_u32 {
            let addr = IpAddr::V6(std::net::Ipv6Addr::from(
                (0x2001_0db8_u128 << 96) | (u128::from(i) << 64),
            ));
            l.check(Limit::SignIn, addr).unwrap();
            assert!(l.tracked(Limit::SignIn) <= 100, "{i}");
        }
    }
}
