//! Brute-force throttle of sign-in, kept in the database so that every instance sees
//! the same counts. Failures are counted per account key — `(tenant slug as typed,
//! lowercase email)`, hashed, whether or not such an account exists, so a lock reveals
//! nothing — and per client IP, in a sliding window. Crossing the account threshold
//! locks the key for `lock_base · 2^(n-1)` (n = how many times it was locked, capped);
//! the IP limit refuses until old failures leave the window.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::config::ThrottleSettings;
use crate::infra::crypto::sha256_hex;
use crate::infra::entities::{login_failure, login_lock};

/// The two keys a sign-in attempt is counted under.
#[derive(Clone, Debug)]
pub struct AttemptKeys {
    account: String,
    ip: String,
}

impl AttemptKeys {
    /// Keys for an attempt on `slug`/`email` from `ip` (inputs normalized, then hashed).
    #[must_use]
    pub fn new(slug: &str, email: &str, ip: IpAddr) -> Self {
        let account = format!(
            "account\0{}\0{}",
            slug.trim().to_lowercase(),
            email.trim().to_lowercase()
        );
        Self {
            account: sha256_hex(account.as_bytes()),
            ip: sha256_hex(format!("ip\0{ip}").as_bytes()),
        }
    }
}

/// An attempt is refused for this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// Time until the next attempt may succeed.
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole minutes for the message ("try again in N minutes"), at least 1.
    #[must_use]
    pub fn minutes(&self) -> u64 {
        self.retry_after.as_secs().div_ceil(60).max(1)
    }

    /// Whole seconds for `Retry-After`, at least 1.
    #[must_use]
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs().max(1)
    }

    /// The message shown to the client.
    #[must_use]
    pub fn message(&self) -> String {
        let minutes = self.minutes();
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        format!("Too many attempts; try again in {minutes} {unit}.")
    }
}

/// The throttle with its settings.
#[derive(Clone, Debug)]
pub struct Throttle {
    settings: ThrottleSettings,
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn until(now: DateTime<Utc>, later: DateTime<Utc>) -> Duration {
    (later - now).to_std().unwrap_or(Duration::ZERO)
}

impl Throttle {
    /// A throttle with these limits.
    #[must_use]
    pub fn new(settings: ThrottleSettings) -> Self {
        Self { settings }
    }

    /// Whether an attempt under `keys` may go ahead now.
    ///
    /// # Errors
    /// A database failure.
    pub async fn check(
        &self,
        db: &impl ConnectionTrait,
        keys: &AttemptKeys,
    ) -> Result<Option<Throttled>, sea_orm::DbErr> {
        let now = Utc::now();
        if let Some(lock) = login_lock::Entity::find_by_id(keys.account.clone())
            .one(db)
            .await?
            && lock.locked_until > now
        {
            return Ok(Some(Throttled {
                retry_after: until(now, lock.locked_until),
            }));
        }
        let since = now - chrono_dur(self.settings.window);
        let ip_failures = login_failure::Entity::find()
            .filter(login_failure::Column::ThrottleKey.eq(keys.ip.clone()))
            .filter(login_failure::Column::CreatedAt.gt(since))
            .order_by_asc(login_failure::Column::CreatedAt)
            .all(db)
            .await?;
        let limit = self.settings.ip_max_failures as usize;
        if ip_failures.len() >= limit {
            // Free again once enough failures have left the window.
            let oldest_relevant = &ip_failures[ip_failures.len() - limit];
            let free_at = oldest_relevant.created_at + chrono_dur(self.settings.window);
            return Ok(Some(Throttled {
                retry_after: until(now, free_at).max(Duration::from_secs(1)),
            }));
        }
        Ok(None)
    }

    /// Records a failure; returns the new lock when this failure crossed the threshold.
    ///
    /// # Errors
    /// A database failure.
    pub async fn record_failure(
        &self,
        db: &impl ConnectionTrait,
        keys: &AttemptKeys,
    ) -> Result<Option<Throttled>, sea_orm::DbErr> {
        let now = Utc::now();
        for key in [&keys.account, &keys.ip] {
            login_failure::Entity::insert(login_failure::ActiveModel {
                id: Set(Uuid::new_v4()),
                throttle_key: Set(key.clone()),
                created_at: Set(now),
            })
            .exec_without_returning(db)
            .await?;
        }
        let since = now - chrono_dur(self.settings.window);
        // Failures older than the window no longer count for these keys: drop them.
        login_failure::Entity::delete_many()
            .filter(
                login_failure::Column::ThrottleKey.is_in([keys.account.clone(), keys.ip.clone()]),
            )
            .filter(login_failure::Column::CreatedAt.lte(since))
            .exec(db)
            .await?;
        let failures = login_failure::Entity::find()
            .filter(login_failure::Column::ThrottleKey.eq(keys.account.clone()))
            .filter(login_failure::Column::CreatedAt.gt(since))
            .count(db)
            .await?;
        if failures < u64::from(self.settings.account_max_failures) {
            return Ok(None);
        }
        let previous = login_lock::Entity::find_by_id(keys.account.clone())
            .one(db)
            .await?;
        let count = previous.map_or(0, |l| l.lock_count).saturating_add(1);
        let factor = 2u32.saturating_pow(u32::try_from(count - 1).unwrap_or(u32::MAX).min(20));
        let length = self
            .settings
            .lock_base
            .saturating_mul(factor)
            .min(self.settings.lock_max);
        let locked_until = now + chrono_dur(length);
        login_lock::Entity::insert(login_lock::ActiveModel {
            throttle_key: Set(keys.account.clone()),
            lock_count: Set(count),
            locked_until: Set(locked_until),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(login_lock::Column::ThrottleKey)
                .update_columns([
                    login_lock::Column::LockCount,
                    login_lock::Column::LockedUntil,
                    login_lock::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        // The count starts again after the lock; the lock count remembers the history.
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::ThrottleKey.eq(keys.account.clone()))
            .exec(db)
            .await?;
        Ok(Some(Throttled {
            retry_after: length,
        }))
    }

    /// Forgets the account's failures and lock history after a successful sign-in.
    ///
    /// # Errors
    /// A database failure.
    pub async fn record_success(
        &self,
        db: &impl ConnectionTrait,
        keys: &AttemptKeys,
    ) -> Result<(), sea_orm::DbErr> {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::ThrottleKey.eq(keys.account.clone()))
            .exec(db)
            .await?;
        login_lock::Entity::delete_by_id(keys.account.clone())
            .exec(db)
            .await?;
        Ok(())
    }
}
