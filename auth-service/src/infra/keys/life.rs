//! The life of a signing key, derived from the rows at a moment: pending → signing →
//! retired → expired, or revoked; and the two delays of a rotation.
//!
//! Retirement is not stored: a key retires when the next key (by `signs_from`) that ever
//! signed starts signing. A key revoked before its `signs_from` never signed, so its
//! predecessor keeps signing; a key revoked after it signed still retired its predecessor.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::infra::entities::signing_key::Model;

/// How long a retired key stays published beyond its retirement: the access-token TTL (its
/// last token's life), the verifiers' largest leeway (60 s), and one reload interval (a
/// replica may sign with it until its next reload notices the successor).
#[must_use]
pub fn keep_after_retirement(settings: &Settings) -> Duration {
    settings.access_token_ttl + shared_jwt::verifier::MAX_LEEWAY + settings.key_reload_interval
}

/// How long after publication a rotated key starts signing: `JWKS_MAX_AGE` +
/// `KEY_ACTIVATION_MARGIN` (default 1 minute), so every verifier refreshed its JWKS first.
#[must_use]
pub fn activation_delay(settings: &Settings) -> Duration {
    settings.jwks_max_age + settings.key_activation_margin
}

pub(super) fn as_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Where a key stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published, signs from `signs_from` on.
    Pending,
    /// Signs new tokens.
    Signing,
    /// Replaced; published until `expires_at` for its last tokens.
    Retired,
    /// Out of the JWKS: its last token expired.
    Expired,
    /// Out of the JWKS and refused.
    Revoked,
}

impl KeyState {
    /// Whether the key is in the JWKS (and verifies tokens).
    #[must_use]
    pub fn is_published(self) -> bool {
        matches!(self, Self::Pending | Self::Signing | Self::Retired)
    }

    /// The word `keys list` shows.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Signing => "signing",
            Self::Retired => "retired",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// A key's life, derived from all the rows at `now`.
#[derive(Clone, Debug)]
pub struct KeyLife {
    /// The row.
    pub row: Model,
    /// Its state.
    pub state: KeyState,
    /// When the next key started (or will start) signing in its place.
    pub retired_at: Option<DateTime<Utc>>,
    /// When it leaves the JWKS (retirement + [`keep_after_retirement`]).
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether `row` ever signed or may still sign: a key revoked before its `signs_from` never
/// signed, so it does not retire its predecessor.
fn signs_at_some_point(row: &Model) -> bool {
    row.revoked_at.is_none_or(|r| r > row.signs_from)
}

/// The life of every row (of one algorithm) at `now`, in `seq` order.
#[must_use]
pub fn lives(rows: &[Model], now: DateTime<Utc>, keep: Duration) -> Vec<KeyLife> {
    let keep = as_chrono(keep);
    let order = |r: &Model| (r.signs_from, r.seq);
    let mut out: Vec<KeyLife> = rows
        .iter()
        .map(|row| {
            let retired_at = rows
                .iter()
                .filter(|j| order(j) > order(row) && signs_at_some_point(j))
                .map(|j| j.signs_from)
                .min();
            let expires_at = retired_at.map(|r| r + keep);
            let state = if row.revoked_at.is_some() {
                KeyState::Revoked
            } else if now < row.signs_from {
                KeyState::Pending
            } else if retired_at.is_none_or(|r| now < r) {
                KeyState::Signing
            } else if expires_at.is_some_and(|e| now < e) {
                KeyState::Retired
            } else {
                KeyState::Expired
            };
            KeyLife {
                row: row.clone(),
                state,
                retired_at,
                expires_at,
            }
        })
        .collect();
    out.sort_by_key(|l| l.row.seq);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, signs_from: i64, revoked_at: Option<i64>) -> Model {
        let t = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        Model {
            kid: format!("k{seq}"),
            seq,
            algorithm: "EdDSA".into(),
            public_jwk: "{}".into(),
            private_key: Vec::new(),
            origin: "test".into(),
            created_at: t(0),
            published_at: t(signs_from.min(0)),
            signs_from: t(signs_from),
            revoked_at: revoked_at.map(t),
        }
    }

    fn states(rows: &[Model], now: i64) -> Vec<KeyState> {
        let now = DateTime::<Utc>::from_timestamp(now, 0).unwrap();
        lives(rows, now, Duration::from_secs(100))
            .into_iter()
            .map(|l| l.state)
            .collect()
    }

    use KeyState::*;

    #[test]
    fn a_rotation_goes_pending_signing_retired_expired() {
        let rows = [row(1, 0, None), row(2, 1000, None)];
        assert_eq!(states(&rows, 500), [Signing, Pending]);
        assert_eq!(states(&rows, 1000), [Retired, Signing]);
        assert_eq!(states(&rows, 1099), [Retired, Signing]);
        assert_eq!(states(&rows, 1100), [Expired, Signing]);
    }

    #[test]
    fn a_pending_key_revoked_before_it_signed_gives_its_predecessor_its_life_back() {
        let rows = [row(1, 0, None), row(2, 1000, Some(500)), row(3, 2000, None)];
        assert_eq!(states(&rows, 1500), [Signing, Revoked, Pending]);
        assert_eq!(states(&rows, 2050), [Retired, Revoked, Signing]);
    }

    #[test]
    fn a_key_revoked_after_it_signed_still_retired_its_predecessor() {
        let rows = [
            row(1, 0, None),
            row(2, 1000, Some(1500)),
            row(3, 1500, None),
        ];
        assert_eq!(states(&rows, 1600), [Expired, Revoked, Signing]);
        let lives = lives(
            &rows,
            DateTime::<Utc>::from_timestamp(1600, 0).unwrap(),
            Duration::from_secs(100),
        );
        assert_eq!(lives[0].retired_at.unwrap().timestamp(), 1000);
        assert_eq!(lives[0].expires_at.unwrap().timestamp(), 1100);
    }

    #[test]
    fn revoking_the_only_key_leaves_none_signing() {
        let rows = [row(1, 0, Some(10))];
        assert_eq!(states(&rows, 20), [Revoked]);
    }
}
