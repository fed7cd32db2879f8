//! Passkeys (WebAuthn, with `webauthn-rs`): registering one on the account page, and
//! signing in with one — as the second step after the password, or alone ("sign in with a
//! passkey": a discoverable credential, no user name).
//!
//! Rules held here:
//! - the relying party: RP ID = `COOKIE_DOMAIN` (without a leading dot), else the host of
//!   `PUBLIC_URL`; the only accepted origin is `PUBLIC_URL`'s (same scheme, host and port;
//!   no subdomains: the ceremonies run only on auth-service's own pages). A passkey is thus
//!   bound to the whole site (the parent domain), so moving the auth host to another
//!   subdomain keeps every passkey working. Without a domain name (an IP address in
//!   `PUBLIC_URL`) passkeys are off and the pages say so;
//! - every ceremony requires user verification (PIN or biometric on the authenticator), so
//!   a passkey alone is two factors: `amr` `hwk mfa` (passwordless) or `pwd hwk mfa`
//!   (second step after the password);
//! - the server-side state of a ceremony is a `passkey_challenges` row (5 minutes, single
//!   use: spent by a conditional UPDATE before the answer is checked), found by the hash of
//!   a random token held in this browser's `HttpOnly` cookie — like the pending sign-in
//!   of `/login/verify`; a replayed or expired answer finds nothing;
//! - a credential id belongs to one account (unique index): an assertion naming another
//!   user's credential, or a user handle that is not the credential's owner, is refused;
//! - the signature counter must grow when the authenticator keeps one (`webauthn-rs`
//!   refuses a possibly cloned credential); it is stored after every use.

use std::sync::Arc;

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, SqlErr, TransactionTrait,
};
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

use crate::accounts::{mfa, users};
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::crypto::{b64url, random_token, sha256_hex};
use crate::infra::entities::{passkey, passkey_challenge, tenant, user};

/// How long a ceremony may take.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// The longest passkey name.
pub const NAME_MAX: usize = 64;
/// A ceremony registering a passkey.
pub const REGISTER: &str = "register";
/// A ceremony proving the second factor after the password.
pub const VERIFY: &str = "verify";
/// A passwordless sign-in ceremony.
pub const LOGIN: &str = "login";

/// Passkeys are off (no domain name to bind them to).
pub const UNAVAILABLE: &str =
    "Passkeys are not available on this server (PUBLIC_URL has no domain name).";
/// An expired, used, unknown or foreign ceremony.
pub const EXPIRED: &str = "This passkey request has expired or was already used: try again.";
/// A malformed answer, or one the checks refused (signature, origin, RP ID, flags).
pub const NOT_ACCEPTED: &str = "The passkey was not accepted: try again.";
/// A credential that is not one of this account's passkeys.
pub const NOT_REGISTERED: &str = "This passkey is not registered for this account.";
/// A credential registered already (to this or another account).
pub const DUPLICATE: &str = "This passkey is already registered.";
/// A bad name.
pub const BAD_NAME: &str = "Give the passkey a name of at most 64 characters.";
/// An unknown passkey id (or another user's).
pub const NOT_FOUND: &str = "No such passkey.";

/// The relying party, built once from the settings.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    webauthn: Option<Arc<Webauthn>>,
    /// The RP ID passkeys are bound to.
    pub rp_id: String,
}

impl RelyingParty {
    /// RP ID = `cookie_domain` (leading dot removed) or the host of `public_url`; origin =
    /// `public_url`'s. Off (with a warning) when that is not a domain name.
    #[must_use]
    pub fn new(public_url: &Url, cookie_domain: Option<&str>, name: &str) -> Self {
        let rp_id = cookie_domain
            .map(|d| d.trim_start_matches('.').to_owned())
            .or_else(|| public_url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let origin = Url::parse(&public_url.origin().ascii_serialization()).ok();
        let built = origin.as_ref().and_then(|origin| {
            WebauthnBuilder::new(&rp_id, origin)
                .and_then(|b| b.rp_name(name).build())
                .ok()
        });
        if built.is_none() {
            tracing::warn!(rp_id = %rp_id, public_url = %public_url, "passkeys are off: PUBLIC_URL's host is not a domain name under the RP ID");
        }
        Self {
            webauthn: built.map(Arc::new),
            rp_id,
        }
    }

    /// Whether passkeys work here.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.webauthn.is_some()
    }

    fn get(&self) -> Result<&Webauthn, &'static str> {
        self.webauthn.as_deref().ok_or(UNAVAILABLE)
    }
}

/// A ceremony started: the options for `navigator.credentials`, and the raw token of its
/// state (for the browser's cookie; only its hash is stored).
#[derive(Debug)]
pub struct Started {
    /// `{"publicKey": …}` as `webauthn-rs` serializes it.
    pub options: Value,
    /// The cookie value.
    pub token: String,
}

fn parse_passkey(row: &passkey::Model) -> Result<Passkey, AppError> {
    serde_json::from_str(&row.passkey)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored passkey {}: {e}", row.id)))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.into()))
}

/// The user's passkeys, oldest first.
///
/// # Errors
/// A database failure.
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<passkey::Model>, sea_orm::DbErr> {
    passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .all(db)
        .await
}

async fn store_challenge(
    db: &impl ConnectionTrait,
    purpose: &str,
    user: Option<&user::Model>,
    state: String,
) -> Result<String, sea_orm::DbErr> {
    let token = random_token();
    let now = Utc::now();
    passkey_challenge::ActiveModel {
        id: Set(Uuid::new_v4()),
        token_hash: Set(sha256_hex(token.as_bytes())),
        purpose: Set(purpose.to_owned()),
        user_id: Set(user.map(|u| u.id)),
        tenant_id: Set(user.map(|u| u.tenant_id)),
        state: Set(state),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(CHALLENGE_TTL_SECS)),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Spends the live ceremony of `token` for `purpose` (and `user`, when it has one), in its
/// own transaction, committed before the answer is checked (a ceremony is spent whatever the
/// answer): its stored state, or `None` when it is unknown, expired, used or someone else's.
///
/// # Errors
/// A database failure; a stored state that does not parse (written by this service: a 500).
async fn take_state<T: serde::de::DeserializeOwned>(
    db: &DatabaseConnection,
    token: &str,
    purpose: &str,
    user_id: Option<Uuid>,
) -> Result<Option<T>, AppError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let txn = db.begin().await?;
    let Some(state) = take_challenge(&txn, token, purpose, user_id).await? else {
        return Ok(None);
    };
    txn.commit().await?;
    let state = serde_json::from_str(&state).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Some(state))
}

/// [`take_state`]'s conditional UPDATE and read, inside `db`'s transaction.
async fn take_challenge(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: &str,
    user_id: Option<Uuid>,
) -> Result<Option<String>, sea_orm::DbErr> {
    let hash = sha256_hex(token.as_bytes());
    let now = Utc::now();
    let mut spend = passkey_challenge::Entity::update_many()
        .col_expr(passkey_challenge::Column::UsedAt, Expr::value(now))
        .filter(passkey_challenge::Column::TokenHash.eq(hash.clone()))
        .filter(passkey_challenge::Column::Purpose.eq(purpose))
        .filter(passkey_challenge::Column::UsedAt.is_null())
        .filter(passkey_challenge::Column::ExpiresAt.gt(now));
    spend = match user_id {
        Some(id) => spend.filter(passkey_challenge::Column::UserId.eq(id)),
        None => spend.filter(passkey_challenge::Column::UserId.is_null()),
    };
    if spend.exec(db).await?.rows_affected != 1 {
        return Ok(None);
    }
    Ok(passkey_challenge::Entity::find()
        .filter(passkey_challenge::Column::TokenHash.eq(hash))
        .one(db)
        .await?
        .map(|c| c.state))
}

/// Starts registering a passkey for `user` (their passkeys excluded, so an authenticator
/// cannot register twice).
///
/// # Errors
/// A database failure.
pub async fn start_registration(
    rp: &RelyingParty,
    db: &impl ConnectionTrait,
    user: &user::Model,
) -> Result<Result<Started, &'static str>, AppError> {
    let webauthn = match rp.get() {
        Ok(w) => w,
        Err(m) => return Ok(Err(m)),
    };
    let mut exclude = Vec::new();
    for row in list(db, user.id).await? {
        exclude.push(parse_passkey(&row)?.cred_id().clone());
    }
    let (options, state) = webauthn
        .start_passkey_registration(
            user.id,
            &user.email,
            &users::display_name(user),
            Some(exclude),
        )
        .map_err(|e| AppError::Internal(anyhow::anyhow!("starting a registration: {e}")))?;
    let token = store_challenge(db, REGISTER, Some(user), to_json(&state)?).await?;
    Ok(Ok(Started {
        options: serde_json::to_value(&options).map_err(|e| AppError::Internal(e.into()))?,
        token,
    }))
}

/// A name as typed: trimmed, 1 to [`NAME_MAX`] characters, no control characters.
///
/// # Errors
/// [`BAD_NAME`].
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(BAD_NAME);
    }
    Ok(name.to_owned())
}

/// Finishes a registration with the browser's answer (`credential`, JSON): the stored
/// passkey, or why not (nothing stored).
///
/// # Errors
/// A database failure.
pub async fn finish_registration(
    rp: &RelyingParty,
    db: &DatabaseConnection,
    user: &user::Model,
    token: &str,
    name: &str,
    credential: &str,
    ctx: &EventContext,
) -> Result<Result<passkey::Model, &'static str>, AppError> {
    let webauthn = match rp.get() {
        Ok(w) => w,
        Err(m) => return Ok(Err(m)),
    };
    let name = match parse_name(name) {
        Ok(n) => n,
        Err(m) => return Ok(Err(m)),
    };
    let Ok(answer) = serde_json::from_str::<RegisterPublicKeyCredential>(credential) else {
        return Ok(Err(NOT_ACCEPTED));
    };
    let Some(state) = take_state::<PasskeyRegistration>(db, token, REGISTER, Some(user.id)).await?
    else {
        return Ok(Err(EXPIRED));
    };
    let key = match webauthn.finish_passkey_registration(&answer, &state) {
        Ok(k) => k,
        Err(e) => {
            tracing::info!(error = %e, "passkey registration refused");
            return Ok(Err(NOT_ACCEPTED));
        }
    };
    let txn = db.begin().await?;
    let inserted = passkey::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user.id),
        tenant_id: Set(user.tenant_id),
        credential_id: Set(b64url(key.cred_id().as_ref())),
        passkey: Set(to_json(&key)?),
        name: Set(name.clone()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
    }
    .insert(&txn)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(Err(DUPLICATE));
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &txn,
        AuditEvent::PasskeyAdded,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        Some(name),
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(row))
}

/// Starts the second step with one of `user`'s passkeys (the password was right).
///
/// # Errors
/// A database failure.
pub async fn start_verification(
    rp: &RelyingParty,
    db: &impl ConnectionTrait,
    user: &user::Model,
) -> Result<Result<Started, &'static str>, AppError> {
    let webauthn = match rp.get() {
        Ok(w) => w,
        Err(m) => return Ok(Err(m)),
    };
    let mut keys = Vec::new();
    for row in list(db, user.id).await? {
        keys.push(parse_passkey(&row)?);
    }
    if keys.is_empty() {
        return Ok(Err(NOT_REGISTERED));
    }
    let (options, state) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("starting an authentication: {e}")))?;
    let token = store_challenge(db, VERIFY, Some(user), to_json(&state)?).await?;
    Ok(Ok(Started {
        options: serde_json::to_value(&options).map_err(|e| AppError::Internal(e.into()))?,
        token,
    }))
}

/// Starts a passwordless sign-in (any discoverable passkey of this site).
///
/// # Errors
/// A database failure.
pub async fn start_login(
    rp: &RelyingParty,
    db: &impl ConnectionTrait,
) -> Result<Result<Started, &'static str>, AppError> {
    let webauthn = match rp.get() {
        Ok(w) => w,
        Err(m) => return Ok(Err(m)),
    };
    let (mut options, state) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("starting an authentication: {e}")))?;
    // A button starts it (a modal request), not the autofill UI.
    options.mediation = None;
    let token = store_challenge(db, LOGIN, None, to_json(&state)?).await?;
    Ok(Ok(Started {
        options: serde_json::to_value(&options).map_err(|e| AppError::Internal(e.into()))?,
        token,
    }))
}

/// A passkey that signed in.
#[derive(Debug)]
pub struct Used {
    /// Its owner.
    pub user: user::Model,
    /// The owner's tenant.
    pub tenant: tenant::Model,
    /// The passkey's name.
    pub name: String,
}

async fn find_by_credential(
    db: &impl ConnectionTrait,
    credential_id: &[u8],
) -> Result<Option<passkey::Model>, sea_orm::DbErr> {
    passkey::Entity::find()
        .filter(passkey::Column::CredentialId.eq(b64url(credential_id)))
        .one(db)
        .await
}

/// Stores the counter (and backup flags) after a successful use, and `last_used_at`.
async fn record_use(
    db: &impl ConnectionTrait,
    row: &passkey::Model,
    mut key: Passkey,
    result: &webauthn_rs::prelude::AuthenticationResult,
    ctx: &EventContext,
) -> Result<(), AppError> {
    let mut change = passkey::Entity::update_many()
        .col_expr(passkey::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(passkey::Column::Id.eq(row.id));
    if key.update_credential(result) == Some(true) {
        change = change.col_expr(passkey::Column::Passkey, Expr::value(to_json(&key)?));
    }
    change.exec(db).await?;
    audit::record(
        db,
        AuditEvent::PasskeyUsed,
        Some(row.tenant_id),
        Some(row.user_id),
        ctx,
        Some(row.name.clone()),
    )
    .await?;
    Ok(())
}

/// Checks the second-step answer of `user` (whose password was right): `Err` with the
/// message when refused (the ceremony is spent either way).
///
/// # Errors
/// A database failure.
pub async fn finish_verification(
    rp: &RelyingParty,
    db: &DatabaseConnection,
    user: &user::Model,
    token: &str,
    credential: &str,
    ctx: &EventContext,
) -> Result<Result<String, &'static str>, AppError> {
    let webauthn = match rp.get() {
        Ok(w) => w,
        Err(m) => return Ok(Err(m)),
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(NOT_ACCEPTED));
    };
    let Some(state) = take_state::<PasskeyAuthentication>(db, token, VERIFY, Some(user.id)).await?
    else {
        return Ok(Err(EXPIRED));
    };
    let txn = db.begin().await?;
    let Some(row) = find_by_credential(&txn, answer.get_credential_id()).await? else {
        return Ok(Err(NOT_REGISTERED));
    };
    if row.user_id != user.id {
        return Ok(Err(NOT_REGISTERED));
    }
    let key = parse_passkey(&row)?;
    let result = match webauthn.finish_passkey_authentication(&answer, &state) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "passkey second factor refused");
            return Ok(Err(NOT_ACCEPTED));
        }
    };
    record_use(&txn, &row, key, &result, ctx).await?;
    txn.commit().await?;
    Ok(Ok(row.name))
}

/// Checks a passwordless answer: the passkey's (active) owner, or `Err` with the message
/// (the ceremony is spent either way).
///
/// # Errors
/// A database failure.
pub async fn finish_login(
    rp: &RelyingParty,
    db: &DatabaseConnection,
    token: &str,
    credential: &str,
    ctx: &EventContext,
) -> Result<Result<Used, &'static str>, AppError> {
    let webauthn = match rp.get() {
        Ok(w) => w,
        Err(m) => return Ok(Err(m)),
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(NOT_ACCEPTED));
    };
    let Some(state) = take_state::<DiscoverableAuthentication>(db, token, LOGIN, None).await?
    else {
        return Ok(Err(EXPIRED));
    };
    let Ok((user_id, credential_id)) = webauthn.identify_discoverable_authentication(&answer)
    else {
        return Ok(Err(NOT_ACCEPTED));
    };
    let txn = db.begin().await?;
    let Some(row) = find_by_credential(&txn, credential_id).await? else {
        return Ok(Err(NOT_REGISTERED));
    };
    // The user handle the authenticator returned must be the credential's owner.
    if row.user_id != user_id {
        return Ok(Err(NOT_REGISTERED));
    }
    let key = parse_passkey(&row)?;
    let result = match webauthn.finish_discoverable_authentication_v2(&answer, state, &key) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "passkey sign-in refused");
            return Ok(Err(NOT_ACCEPTED));
        }
    };
    let found_user = user::Entity::find_by_id(row.user_id).one(&txn).await?;
    let found_tenant = tenant::Entity::find_by_id(row.tenant_id).one(&txn).await?;
    let (Some(u), Some(t)) = (found_user, found_tenant) else {
        return Ok(Err(NOT_REGISTERED));
    };
    if !u.is_active || !t.is_active || u.tenant_id != t.id || u.awaits_verification() {
        return Ok(Err(NOT_ACCEPTED));
    }
    record_use(&txn, &row, key, &result, ctx).await?;
    txn.commit().await?;
    Ok(Ok(Used {
        user: u,
        tenant: t,
        name: row.name,
    }))
}

/// Renames one of `user`'s passkeys.
///
/// # Errors
/// A database failure.
pub async fn rename(
    db: &impl ConnectionTrait,
    user: &user::Model,
    id: Uuid,
    name: &str,
) -> Result<Result<(), &'static str>, AppError> {
    let name = match parse_name(name) {
        Ok(n) => n,
        Err(m) => return Ok(Err(m)),
    };
    let changed = passkey::Entity::update_many()
        .col_expr(passkey::Column::Name, Expr::value(name))
        .filter(passkey::Column::Id.eq(id))
        .filter(passkey::Column::UserId.eq(user.id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(if changed == 1 { Ok(()) } else { Err(NOT_FOUND) })
}

/// Removes one of `user`'s passkeys — refused (nothing changed) when it is the last second
/// factor and the tenant policy requires one. The caller checked the password.
///
/// # Errors
/// A database failure.
pub async fn remove(
    db: &DatabaseConnection,
    user: &user::Model,
    tenant: &tenant::Model,
    id: Uuid,
    ctx: &EventContext,
) -> Result<Result<String, &'static str>, AppError> {
    let txn = db.begin().await?;
    let Some(row) = passkey::Entity::find_by_id(id)
        .filter(passkey::Column::UserId.eq(user.id))
        .one(&txn)
        .await?
    else {
        return Ok(Err(NOT_FOUND));
    };
    passkey::Entity::delete_by_id(row.id).exec(&txn).await?;
    // Checked after the delete, inside the transaction: the factors that remain.
    if mfa::policy_requires(tenant, user) && !mfa::has_second_factor(&txn, user.id).await? {
        return Ok(Err(mfa::POLICY_REQUIRES));
    }
    audit::record(
        &txn,
        AuditEvent::PasskeyRemoved,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        Some(row.name.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(row.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rp_id_is_the_cookie_domain_else_the_public_host() {
        let url = Url::parse("https://auth.example.com:8443/x").unwrap();
        let rp = RelyingParty::new(&url, Some(".example.com"), "SSO");
        assert_eq!(rp.rp_id, "example.com");
        assert!(rp.enabled());
        let rp = RelyingParty::new(&url, None, "SSO");
        assert_eq!(rp.rp_id, "auth.example.com");
        assert!(rp.enabled());
        // Not a domain name, or a cookie domain the host is not under: off.
        let ip = Url::parse("http://127.0.0.1:8000").unwrap();
        assert!(!RelyingParty::new(&ip, None, "SSO").enabled());
        assert!(!RelyingParty::new(&url, Some("other.org"), "SSO").enabled());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Laptop  ").unwrap(), "Laptop");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(65)).is_err());
        assert!(parse_name(&"é".repeat(64)).is_ok());
        assert!(parse_name("a\u{7}b").is_err());
    }
}
