//! The password-guessing limits, kept in the database so that every instance shares
//! them, and counted BEFORE the password is checked: an attempt first reserves a slot in
//! each of three buckets ([`Throttle::reserve`]), then argon2 runs, then the attempt is
//! settled. Buckets, each a sliding window (`THROTTLE_WINDOW`, 15 minutes):
//!
//! - the account (tenant slug as typed + email, lowercase; hashed, whether or not such
//!   an account exists, so a refusal reveals nothing) from one client address (IPv6 per
//!   /64, IPv4-mapped IPv6 as IPv4): `THROTTLE_ACCOUNT_ADDRESS_MAX` (5);
//! - the account from every address: `THROTTLE_ACCOUNT_MAX` (50), which slows guessing
//!   spread over many addresses without locking its owner out for long;
//! - the address across accounts: `THROTTLE_ADDRESS_MAX` (50).
//!
//! A refused attempt claims nothing, so nothing is extended by asking again: every lock
//! ends at most one window after the last checked password, with no escalation. A
//! failure keeps its slots; a success empties the account's bucket for that address and
//! gives back its own slots in the two others. [`clear_account`] empties every bucket of
//! an account (`auth-service user unlock`, a password reset).

mod slots;

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use self::slots::{Bucket, Claimed};
use crate::config::ThrottleSettings;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::crypto::sha256_hex;
use crate::infra::entities::{tenant, user};

/// The buckets a password check is counted in (hashed keys).
#[derive(Clone, Debug)]
pub struct AttemptKeys {
    account: String,
    pair: String,
    address: String,
}

/// The account part of the keys: the slug and email as typed, trimmed and lowercase.
fn account_key(slug: &str, email: &str) -> String {
    let account = format!(
        "account\0{}\0{}",
        slug.trim().to_lowercase(),
        email.trim().to_lowercase()
    );
    sha256_hex(account.as_bytes())
}

/// The client address as counted: IPv4 (also when IPv4-mapped), or the IPv6 /64.
#[must_use]
pub fn address_scope(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64));
                format!("{network}/64")
            }
        },
    }
}

impl AttemptKeys {
    /// Keys for a check of `slug`/`email` from `ip` (inputs normalized, then hashed).
    #[must_use]
    pub fn new(slug: &str, email: &str, ip: IpAddr) -> Self {
        let account = account_key(slug, email);
        let address = address_scope(ip);
        Self {
            pair: sha256_hex(format!("pair\0{account}\0{address}").as_bytes()),
            address: sha256_hex(format!("address\0{address}").as_bytes()),
            account,
        }
    }
}

/// An attempt is refused for this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// Time until a slot frees, so that an attempt may be checked again.
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole seconds for `Retry-After`, rounded up (asking again then is admitted), at
    /// least 1.
    #[must_use]
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    /// Whole minutes for the message ("try again in N minutes"), rounded up, at least 1.
    #[must_use]
    pub fn minutes(&self) -> u64 {
        self.retry_after_secs().div_ceil(60)
    }

    /// The message shown to the client.
    #[must_use]
    pub fn message(&self) -> String {
        let minutes = self.minutes();
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        format!("Too many attempts; try again in {minutes} {unit}.")
    }
}

/// The slots one attempt holds, until it is settled. Dropped unsettled (a cancelled
/// request) it keeps them, as a failure would: asking and hanging up gains nothing.
#[derive(Debug)]
#[must_use = "settle the reservation after the check"]
pub struct Reservation {
    keys: AttemptKeys,
    claim: Uuid,
}

/// Whether an attempt may check a password.
#[derive(Debug)]
pub enum Admission {
    /// Yes: the slots are reserved; settle them after the check.
    Granted(Reservation),
    /// No: a bucket is full; nothing was reserved.
    Refused(Throttled),
}

/// The limits with their settings.
#[derive(Clone, Debug)]
pub struct Throttle {
    settings: ThrottleSettings,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Throttle {
    /// The limits of `settings`.
    #[must_use]
    pub fn new(settings: ThrottleSettings) -> Self {
        Self { settings }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.settings.window.as_millis()).unwrap_or(i64::MAX)
    }

    /// The buckets of `keys`, in the order they are claimed.
    fn buckets(&self, keys: &AttemptKeys) -> [Bucket; 3] {
        let s = &self.settings;
        [
            Bucket {
                key: keys.pair.clone(),
                account: Some(keys.account.clone()),
                limit: s.account_address_max,
            },
            Bucket {
                key: keys.account.clone(),
                account: Some(keys.account.clone()),
                limit: s.account_max,
            },
            Bucket {
                key: keys.address.clone(),
                account: None,
                limit: s.address_max,
            },
        ]
    }

    /// Reserves a slot in every bucket of `keys`, or none: refused, with the time
    /// until every bucket has a free slot again. Two statements when no racer interferes
    /// (one read of the three buckets, one claim of a slot in each).
    ///
    /// # Errors
    /// A database failure (slots claimed so far are given back when possible).
    pub async fn reserve(
        &self,
        db: &impl ConnectionTrait,
        keys: &AttemptKeys,
    ) -> Result<Admission, DbErr> {
        let (now, window) = (now_ms(), self.window_ms());
        let claim = Uuid::new_v4();
        match slots::claim_all(db, &self.buckets(keys), claim, now, window).await? {
            Claimed::Yes => Ok(Admission::Granted(Reservation {
                keys: keys.clone(),
                claim,
            })),
            // A racer's slot taken after `now` may end a little after `now + window`; no
            // wait is longer than the window.
            Claimed::Full(wait) => Ok(Admission::Refused(Throttled {
                retry_after: wait.min(self.settings.window),
            })),
        }
    }

    /// Settles a wrong password: the slots stay used. Returns the lock it leaves, when
    /// the account's bucket for this address (or for every address) is now full.
    ///
    /// # Errors
    /// A database failure.
    pub async fn settle_failure(
        &self,
        db: &impl ConnectionTrait,
        reservation: Reservation,
    ) -> Result<Option<Throttled>, DbErr> {
        let (now, window) = (now_ms(), self.window_ms());
        let [pair, account, _] = self.buckets(&reservation.keys);
        let wait = slots::wait_for_all(db, &[&pair, &account], now, window).await?;
        Ok((!wait.is_zero()).then_some(Throttled { retry_after: wait }))
    }

    /// Settles a right password: the account's bucket for this address is emptied, and
    /// the attempt's slots in the account's and the address's buckets are given back (one
    /// statement).
    ///
    /// # Errors
    /// A database failure.
    pub async fn settle_success(
        &self,
        db: &impl ConnectionTrait,
        reservation: Reservation,
    ) -> Result<(), DbErr> {
        let [pair, account, address] = self.buckets(&reservation.keys);
        slots::clear_and_release(db, &pair, &[&account, &address], reservation.claim).await
    }

    /// Settles an attempt whose password was never checked (hashing busy or failed):
    /// every slot is given back.
    ///
    /// # Errors
    /// A database failure.
    pub async fn cancel(
        &self,
        db: &impl ConnectionTrait,
        reservation: Reservation,
    ) -> Result<(), DbErr> {
        let buckets = self.buckets(&reservation.keys);
        slots::release_all(db, &buckets.each_ref(), reservation.claim).await
    }

    /// Deletes slots that left the window (they are re-created when needed); the number
    /// deleted. For a periodic clean-up.
    ///
    /// # Errors
    /// A database failure.
    pub async fn prune(&self, db: &impl ConnectionTrait) -> Result<u64, DbErr> {
        slots::prune(db, now_ms() - self.window_ms()).await
    }
}

/// Clears every password-guessing count of an account (from every address), and
/// audits it with `why`: `auth-service user unlock`, and a successful password reset.
/// Returns the number of slots removed.
///
/// # Errors
/// A database failure.
pub async fn clear_account(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    user: &user::Model,
    ctx: &EventContext,
    why: &str,
) -> Result<u64, DbErr> {
    let cleared = slots::clear_account(db, &account_key(&tenant.slug, &user.email)).await?;
    audit::record(
        db,
        AuditEvent::ThrottleCleared,
        Some(tenant.id),
        Some(user.id),
        ctx,
        Some(format!("{why}; {cleared} slots")),
    )
    .await?;
    Ok(cleared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(address_scope(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(address_scope(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            address_scope(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            "2001:db8:1:2::/64"
        );
        let a = AttemptKeys::new("acme", "ada@acme.test", ip("2001:db8:1:2::1"));
        let b = AttemptKeys::new(" ACME", "Ada@Acme.test ", ip("2001:db8:1:2:ffff::9"));
        let c = AttemptKeys::new("acme", "ada@acme.test", ip("2001:db8:1:3::1"));
        assert_eq!((&a.pair, &a.address), (&b.pair, &b.address));
        assert_eq!(a.account, c.account);
        assert_ne!(a.pair, c.pair);
        let v4 = AttemptKeys::new("acme", "ada@acme.test", ip("192.0.2.1"));
        let mapped = AttemptKeys::new("acme", "ada@acme.test", ip("::ffff:192.0.2.1"));
        assert_eq!(v4.pair, mapped.pair);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_minutes() {
        let t = |ms| Throttled {
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(t(0).retry_after_secs(), 1);
        assert_eq!(t(1_001).retry_after_secs(), 2);
        assert_eq!(t(60_000).minutes(), 1);
        assert_eq!(t(60_001).minutes(), 2);
        assert_eq!(t(899_500).retry_after_secs(), 900);
        assert_eq!(
            t(899_500).message(),
            "Too many attempts; try again in 15 minutes."
        );
        assert_eq!(
            t(30_000).message(),
            "Too many attempts; try again in 1 minute."
        );
    }
}
