//! The one `Clone` application state handed to every handler.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use shared_jwt::{CookieSettings, Verifier};

use crate::accounts::passkeys::RelyingParty;
use crate::accounts::sessions::Sessions;
use crate::accounts::throttle::Throttle;
use crate::config::Settings;
use crate::infra::keys::{CurrentSigner, KeyRing};
use crate::infra::password::Hasher;
use crate::infra::writes::Writes;
use crate::mail::Mailer;
use crate::request::rate_limit::RateLimits;
use crate::web::csrf::CsrfGuard;
use crate::web::redirect::RedirectPolicy;

/// Everything a request may need; cheap to clone (connection pools and `Arc`s).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The sign-in path's write transactions (on SQLite, one writer at a time, in order).
    pub writes: Writes,
    /// The settings read at start-up.
    pub settings: Arc<Settings>,
    /// Mints access tokens with the key that signs now (follows `keys`).
    pub signer: CurrentSigner,
    /// The signing keys shared through the database (the JWKS; reloaded while running).
    pub keys: KeyRing,
    /// Verifies this service's own access cookie (for the account page); its keys follow
    /// `keys` (the same verifier as `keys.verifier()`).
    pub verifier: Verifier,
    /// Cookie names and attributes (shared-jwt).
    pub cookies: CookieSettings,
    /// Password hashing with a bounded number of hashes at once.
    pub hasher: Hasher,
    /// Refresh-token families.
    pub sessions: Sessions,
    /// CSRF tokens and origin checks.
    pub csrf: CsrfGuard,
    /// The `next` rule.
    pub redirects: RedirectPolicy,
    /// The sign-in throttle.
    pub throttle: Throttle,
    /// Per-address rate limits (this replica's buckets).
    pub rate_limits: RateLimits,
    /// Wakes the mail worker after a commit that queued mail.
    pub mailer: Mailer,
    /// The WebAuthn relying party of passkeys.
    pub passkeys: RelyingParty,
}
