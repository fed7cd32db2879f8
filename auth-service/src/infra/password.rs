//! Passwords: the sign-up policy (8–128 characters, not one of the 10,000 most common,
//! not the email) and argon2id hashing (m=19456 KiB, t=2, p=1, the OWASP minimum) on the
//! blocking pool, at most N hashes at once; a request that cannot get a slot within a
//! bounded wait gets `503` with `Retry-After` instead of queueing without end.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in characters (bounds the hashing cost of one request).
pub const MAX_LEN: usize = 128;

/// The 10,000 most common passwords, lowercase, most common first (Royce Williams' list
/// as shipped by Django 5.2, BSD licence; see `assets/README.md`).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

/// Why a new password was refused (the message is shown next to the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("Use at least 8 characters.")]
    TooShort,
    /// More than [`MAX_LEN`] characters.
    #[error("Use at most 128 characters.")]
    TooLong,
    /// In the common-passwords list.
    #[error("This password is too common; choose another.")]
    Common,
    /// The email address or its local part.
    #[error("Do not use your email address as the password.")]
    IsEmail,
}

/// Checks a new password against the policy (no composition rules, per NIST 800-63B).
///
/// # Errors
/// The first rule the password breaks.
pub fn check_policy(password: &str, email: &str) -> Result<(), PasswordPolicyError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordPolicyError::TooShort);
    }
    if chars > MAX_LEN {
        return Err(PasswordPolicyError::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.trim()) {
        return Err(PasswordPolicyError::Common);
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if !email.is_empty() && (lower == email || (local.len() >= MIN_LEN && lower == local)) {
        return Err(PasswordPolicyError::IsEmail);
    }
    Ok(())
}

/// Hashing failed or no slot was free in time.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed busy for the whole bounded wait.
    #[error("too many password checks at once")]
    Busy,
    /// argon2 or the blocking pool failed (not the password's fault).
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or a malformed stored hash).
    No,
    /// Right password; the hash uses the current parameters.
    Yes,
    /// Right password; here is a new hash with the current parameters to store.
    YesRehashed(String),
}

/// argon2id hasher with a bounded number of concurrent hashes. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    wait: Duration,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

fn argon2() -> Argon2<'static> {
    // Explicit, so a change of crate defaults cannot silently weaken hashes.
    let params = Params::new(19_456, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &[u8]) -> Result<String, HashError> {
    argon2()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Internal(e.to_string()))
}

impl Hasher {
    /// A hasher allowing `max_concurrent` hashes at once, each request waiting at most `wait`.
    ///
    /// # Errors
    /// [`HashError::Internal`] if the dummy hash (for unknown accounts) cannot be made.
    pub async fn new(max_concurrent: usize, wait: Duration) -> Result<Self, HashError> {
        let mut random = [0u8; 32];
        crate::infra::crypto::fill_random(&mut random);
        let dummy = tokio::task::spawn_blocking(move || hash_blocking(&random))
            .await
            .map_err(|e| HashError::Internal(e.to_string()))??;
        Ok(Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            wait,
            dummy_hash: dummy.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let started = std::time::Instant::now();
        crate::infra::metrics::hash_queue(1.0);
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await;
        crate::infra::metrics::hash_queue(-1.0);
        let permit = permit.ok().and_then(Result::ok);
        crate::infra::metrics::hash_wait(started.elapsed(), permit.is_some());
        let permit = permit.ok_or(HashError::Busy)?;
        let out = tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Internal(e.to_string()))?;
        Ok(out)
    }

    /// Hashes a new password to a PHC string.
    ///
    /// # Errors
    /// [`HashError::Busy`] when no slot frees up in time; [`HashError::Internal`] otherwise.
    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let password = password.expose_secret().as_bytes().to_vec();
        self.run(move || hash_blocking(&password)).await?
    }

    /// Verifies `password` against `stored` (a PHC string); `None` checks against a dummy
    /// hash so that an unknown account costs the same time as a known one.
    ///
    /// # Errors
    /// [`HashError::Busy`] when no slot frees up in time; [`HashError::Internal`] otherwise.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let password = password.expose_secret().as_bytes().to_vec();
        let known = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Ok(Verified::No);
            };
            if argon2().verify_password(&password, &parsed).is_err() || !known {
                return Ok(Verified::No);
            }
            if needs_rehash(&parsed) {
                return hash_blocking(&password).map(Verified::YesRehashed);
            }
            Ok(Verified::Yes)
        })
        .await?
    }
}

/// Hashes outside any [`Hasher`]'s bound: for the CLI, seeding and tests.
///
/// # Errors
/// [`HashError::Internal`] if argon2 or the blocking pool fails.
pub async fn hash_unbounded(password: &SecretString) -> Result<String, HashError> {
    let password = password.expose_secret().as_bytes().to_vec();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| HashError::Internal(e.to_string()))?
}

/// Whether a stored hash was made with other parameters than today's.
fn needs_rehash(hash: &PasswordHash) -> bool {
    let current = argon2();
    let Ok(params) = Params::try_from(hash) else {
        return true;
    };
    hash.algorithm.as_str() != "argon2id"
        || hash.version != Some(0x13)
        || params.m_cost() != current.params().m_cost()
        || params.t_cost() != current.params().t_cost()
        || params.p_cost() != current.params().p_cost()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_long_common_and_email() {
        assert_eq!(
            check_policy("short", "a@b.test"),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_policy(&"x".repeat(129), "a@b.test"),
            Err(PasswordPolicyError::TooLong)
        );
        assert_eq!(
            check_policy("password1", "a@b.test"),
            Err(PasswordPolicyError::Common)
        );
        assert_eq!(
            check_policy("QWERTYUIOP", "a@b.test"),
            Err(PasswordPolicyError::Common)
        );
        assert_eq!(
            check_policy("Someone@Example.test", "someone@example.test"),
            Err(PasswordPolicyError::IsEmail)
        );
        assert_eq!(check_policy("correct horse battery", "a@b.test"), Ok(()));
        // Length counts characters, not bytes.
        assert_eq!(
            check_policy("ééééééé", "a@b.test"),
            Err(PasswordPolicyError::TooShort)
        );
    }

    #[test]
    fn the_list_holds_ten_thousand_real_entries() {
        assert_eq!(COMMON.len(), 10_000);
        assert!(COMMON.contains("123456") && COMMON.contains("iloveyou"));
    }

    #[tokio::test]
    async fn hash_then_verify_and_rehash_old_parameters() {
        let h = Hasher::new(2, Duration::from_secs(5)).await.unwrap();
        let pw = SecretString::from("correct horse battery");
        let stored = h.hash(&pw).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(h.verify(&pw, Some(&stored)).await.unwrap(), Verified::Yes);
        let wrong = SecretString::from("wrong horse battery");
        assert_eq!(h.verify(&wrong, Some(&stored)).await.unwrap(), Verified::No);
        assert_eq!(h.verify(&pw, None).await.unwrap(), Verified::No);
        assert_eq!(h.verify(&pw, Some("garbage")).await.unwrap(), Verified::No);

        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery")
        .unwrap()
        .to_string();
        match h.verify(&pw, Some(&weak)).await.unwrap() {
            Verified::YesRehashed(new) => assert!(new.contains("m=19456,t=2,p=1")),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy() {
        let h = Hasher::new(1, Duration::from_millis(1)).await.unwrap();
        let _held = h.slots.clone().acquire_owned().await.unwrap();
        let err = h
            .hash(&SecretString::from("correct horse battery"))
            .await
            .unwrap_err();
        assert!(matches!(err, HashError::Busy));
    }
}
