//! The second factor: an authenticator app (TOTP, RFC 6238: SHA-1, 6 digits, 30 s, ±1
//! step), single-use recovery codes, and the pending sign-in between the password and
//! the code.
//!
//! Rules held here:
//! - the secret is stored encrypted with the key-encryption key's AEAD (the user id as
//!   associated data) and the factor counts only once a correct code confirmed it;
//! - a code is accepted once: the accepted step is stored with a conditional UPDATE
//!   (`last_step < step`), so two requests with the same code cannot both win;
//! - recovery codes: 10, shown once, only their SHA-256 stored; each works once (a
//!   conditional UPDATE of `used_at`); a new set deletes the old one;
//! - every code check is a password guess for the throttle: a slot is reserved before
//!   the check and settled after it (the same keys as signing in to that account);
//! - the pending state (`mfa_challenges`): a random token, only its hash stored, 5
//!   minutes, single use, for one user of one tenant.

use std::net::IpAddr;

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::accounts::signin::{self, PasswordCheck};
use crate::accounts::throttle::{AttemptKeys, Throttled};
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::crypto::{fill_random, random_token, sha256_hex};
use crate::infra::entities::{mfa_challenge, passkey, recovery_code, tenant, user, user_totp};
use crate::state::AppState;

/// How long a pending second step lives.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// How many recovery codes a set has.
pub const RECOVERY_CODES: usize = 10;
/// A wrong, reused or malformed code.
pub const WRONG_CODE: &str = "The code is not correct (or was already used).";
/// An expired, used or unknown pending step.
pub const STEP_EXPIRED: &str = "This sign-in step has expired or was already used: sign in again.";

/// The pending step of `jwt/create/` (its `mfa_token`).
pub const API: &str = "api";
/// The pending step of `POST /login` (its cookie).
pub const WEB: &str = "web";
/// The pending set-up the tenant policy requires after `POST /login` (its cookie).
pub const SETUP: &str = "setup";

const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// What the set-up page shows: the key as text, the `otpauth://` URL and its QR code.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The secret in base32 (to type into an app).
    pub secret_base32: String,
    /// The `otpauth://totp/…` URL.
    pub url: String,
    /// The URL as a QR code (an `<svg>` element).
    pub qr_svg: String,
}

/// What checking a second-step code gave.
#[derive(Debug)]
pub enum CodeCheck {
    /// A correct authenticator code.
    Totp,
    /// A correct recovery code; this many remain.
    Recovery(u64),
    /// Wrong, reused or malformed (counted like a wrong password).
    Wrong,
    /// Too many failures: refused without checking.
    Throttled(Throttled),
}

fn aad(user_id: Uuid) -> String {
    format!("totp:{user_id}")
}

fn totp(secret: &[u8]) -> totp_rs::Totp {
    // SHA-1, 6 digits, ±1 step, 30 s: RFC 6238's defaults, the builder's too.
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build_noncompliant()
}

fn now_secs() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// The user's authenticator-app row, confirmed or not.
///
/// # Errors
/// A database failure.
pub async fn totp_row(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<user_totp::Model>, sea_orm::DbErr> {
    user_totp::Entity::find_by_id(user_id).one(db).await
}

/// Whether the user has a confirmed authenticator app.
///
/// # Errors
/// A database failure.
pub async fn has_totp(db: &impl ConnectionTrait, user_id: Uuid) -> Result<bool, sea_orm::DbErr> {
    Ok(totp_row(db, user_id)
        .await?
        .is_some_and(|r| r.enabled_at.is_some()))
}

/// How many passkeys the user has.
///
/// # Errors
/// A database failure.
pub async fn passkey_count(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .count(db)
        .await
}

/// Whether the user has a second factor: a confirmed authenticator app or a passkey.
///
/// # Errors
/// A database failure.
pub async fn has_second_factor(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    Ok(has_totp(db, user_id).await? || passkey_count(db, user_id).await? > 0)
}

/// Which of `user_ids` have a second factor (for the members page: one query per kind).
///
/// # Errors
/// A database failure.
pub async fn users_with_second_factor(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, sea_orm::DbErr> {
    let mut found = std::collections::HashSet::new();
    for chunk in user_ids.chunks(500) {
        let totp = user_totp::Entity::find()
            .filter(user_totp::Column::UserId.is_in(chunk.iter().copied()))
            .filter(user_totp::Column::EnabledAt.is_not_null())
            .all(db)
            .await?;
        found.extend(totp.into_iter().map(|r| r.user_id));
        let keys = passkey::Entity::find()
            .filter(passkey::Column::UserId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        found.extend(keys.into_iter().map(|r| r.user_id));
    }
    Ok(found)
}

/// What [`reset`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reset {
    /// An authenticator app (confirmed or in set-up) was removed.
    pub totp: bool,
    /// Recovery codes removed (used or not).
    pub recovery_codes: u64,
    /// Passkeys removed.
    pub passkeys: u64,
    /// Refresh tokens revoked (every session of the user ended).
    pub revoked_refresh_tokens: u64,
}

/// The operator's recovery path (`auth-service user reset-mfa`): removes the user's
/// authenticator app, recovery codes and passkeys, ends every session of the user (so a
/// session opened by whoever held the lost factor ends too) and records `mfa_reset`, in
/// one transaction. The tenant policy still applies: a covered user sets a factor up at
/// the next sign-in.
///
/// # Errors
/// A database failure.
pub async fn reset(
    db: &DatabaseConnection,
    user: &user::Model,
    ctx: &EventContext,
    detail: &str,
) -> Result<Reset, sea_orm::DbErr> {
    let txn = db.begin().await?;
    let totp = user_totp::Entity::delete_by_id(user.id)
        .exec(&txn)
        .await?
        .rows_affected
        > 0;
    let recovery_codes = recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?
        .rows_affected;
    let passkeys = passkey::Entity::delete_many()
        .filter(passkey::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?
        .rows_affected;
    let revoked_refresh_tokens =
        crate::accounts::sessions::revoke_all_for_user(&txn, user.id).await?;
    audit::record(
        &txn,
        AuditEvent::MfaReset,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        Some(format!(
            "{detail}: authenticator app {}, {recovery_codes} recovery codes, {passkeys} passkeys",
            if totp { "removed" } else { "none" }
        )),
    )
    .await?;
    txn.commit().await?;
    Ok(Reset {
        totp,
        recovery_codes,
        passkeys,
        revoked_refresh_tokens,
    })
}

/// How many unused recovery codes the user has.
///
/// # Errors
/// A database failure.
pub async fn recovery_codes_left(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

fn setup_view(tenant: &tenant::Model, user: &user::Model, secret: &[u8]) -> Setup {
    let secret_base32 = totp_rs::Secret::from(secret.to_vec()).to_base32();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let issuer = enc(&tenant.name);
    let url = format!(
        "otpauth://totp/{issuer}:{}?secret={secret_base32}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        enc(&user.email)
    );
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    Setup {
        secret_base32,
        url,
        qr_svg,
    }
}

/// Starts (or restarts) setting up an authenticator app: a fresh secret, stored
/// encrypted and not yet enabled. `None` when a confirmed one exists already.
///
/// # Errors
/// A database or encryption failure.
pub async fn begin_setup(
    state: &AppState,
    user: &user::Model,
    tenant: &tenant::Model,
) -> Result<Option<Setup>, AppError> {
    let mut secret = [0u8; 20];
    fill_random(&mut secret);
    let sealed = state
        .keys
        .seal(&aad(user.id), &secret)
        .map_err(AppError::Internal)?;
    let txn = state.db.begin().await?;
    if has_totp(&txn, user.id).await? {
        return Ok(None);
    }
    user_totp::Entity::delete_by_id(user.id).exec(&txn).await?;
    user_totp::ActiveModel {
        user_id: Set(user.id),
        secret: Set(sealed),
        enabled_at: Set(None),
        last_step: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Some(setup_view(tenant, user, &secret)))
}

/// The set-up in progress (to show the same key again after a wrong code), if any.
///
/// # Errors
/// A database or decryption failure.
pub async fn pending_setup(
    state: &AppState,
    user: &user::Model,
    tenant: &tenant::Model,
) -> Result<Option<Setup>, AppError> {
    let Some(row) = totp_row(&state.db, user.id).await? else {
        return Ok(None);
    };
    if row.enabled_at.is_some() {
        return Ok(None);
    }
    let secret = state
        .keys
        .open_sealed(&aad(user.id), &row.secret)
        .map_err(AppError::Internal)?;
    Ok(Some(setup_view(tenant, user, secret.expose_secret())))
}

/// The step `code` matches (±1 step around now), if any.
fn matching_step(secret: &[u8], code: &str) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret)
        .check(&code, now_secs())
        .and_then(|step| i64::try_from(step).ok())
}

/// Confirms the set-up with a first code: the factor is enabled and a first set of
/// recovery codes is returned (shown once). `Err` with a message when the code is wrong
/// or no set-up is in progress.
///
/// # Errors
/// A database or decryption failure.
pub async fn confirm_setup(
    state: &AppState,
    user: &user::Model,
    code: &str,
    ctx: &EventContext,
) -> Result<Result<Vec<String>, &'static str>, AppError> {
    let Some(row) = totp_row(&state.db, user.id).await? else {
        return Ok(Err("Start the set-up first."));
    };
    if row.enabled_at.is_some() {
        return Ok(Err("An authenticator app is already set up."));
    }
    let secret = state
        .keys
        .open_sealed(&aad(user.id), &row.secret)
        .map_err(AppError::Internal)?;
    let Some(step) = matching_step(secret.expose_secret(), code) else {
        return Ok(Err(WRONG_CODE));
    };
    let txn = state.db.begin().await?;
    let enabled = user_totp::Entity::update_many()
        .col_expr(user_totp::Column::EnabledAt, Expr::value(Utc::now()))
        .col_expr(user_totp::Column::LastStep, Expr::value(step))
        .filter(user_totp::Column::UserId.eq(user.id))
        .filter(user_totp::Column::EnabledAt.is_null())
        .filter(user_totp::Column::Secret.eq(row.secret.clone()))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !enabled {
        return Ok(Err("The set-up changed meanwhile: start again."));
    }
    let codes = replace_codes(&txn, user.id).await?;
    audit::record(
        &txn,
        AuditEvent::MfaEnabled,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        Some("authenticator app".to_owned()),
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(codes))
}

fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn new_recovery_code() -> String {
    let mut bytes = [0u8; 10];
    fill_random(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Deletes the user's recovery codes and stores a new set; returns it (in clear, once).
async fn replace_codes(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<String>, sea_orm::DbErr> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let now = Utc::now();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = new_recovery_code();
        recovery_code::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(user_id),
            code_hash: Set(sha256_hex(normalise_code(&code).as_bytes())),
            created_at: Set(now),
            used_at: Set(None),
        }
        .insert(db)
        .await?;
        codes.push(code);
    }
    Ok(codes)
}

/// A new set of recovery codes (the old set stops working); `None` without a factor.
///
/// # Errors
/// A database failure.
pub async fn regenerate_codes(
    state: &AppState,
    user: &user::Model,
    ctx: &EventContext,
) -> Result<Option<Vec<String>>, AppError> {
    let txn = state.db.begin().await?;
    if !has_second_factor(&txn, user.id).await? {
        return Ok(None);
    }
    let codes = replace_codes(&txn, user.id).await?;
    audit::record(
        &txn,
        AuditEvent::RecoveryCodesRegenerated,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(Some(codes))
}

/// What removing a factor is told when the tenant policy requires one.
pub const POLICY_REQUIRES: &str =
    "Your organization requires a second factor: it cannot be removed.";

/// Whether the tenant policy requires a second factor of `user`.
#[must_use]
pub fn policy_requires(tenant: &tenant::Model, user: &user::Model) -> bool {
    tenant.mfa_required.covers(user.role)
}

/// Removes the authenticator app after re-checking the password (counted like a
/// sign-in); `None` (nothing changed) when it is the last factor and the tenant policy
/// requires one. Recovery codes go too unless a passkey remains.
///
/// # Errors
/// A database failure, or hashing busy/failed.
pub async fn disable(
    state: &AppState,
    user: &user::Model,
    tenant: &tenant::Model,
    password: &str,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<Option<PasswordCheck>, AppError> {
    // Refused before the password is checked when the app is the last factor…
    let covered = policy_requires(tenant, user);
    if covered && passkey_count(&state.db, user.id).await? == 0 {
        return Ok(None);
    }
    let check = signin::check_password(state, user, tenant, password, ip, ctx).await?;
    if check != PasswordCheck::Ok {
        return Ok(Some(check));
    }
    let txn = state.db.begin().await?;
    user_totp::Entity::delete_by_id(user.id).exec(&txn).await?;
    // …and again inside the transaction (a passkey may have been removed meanwhile).
    let passkeys_left = passkey_count(&txn, user.id).await?;
    if covered && passkeys_left == 0 {
        return Ok(None);
    }
    if passkeys_left == 0 {
        // Recovery codes back up the factors: with none left they go too.
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?;
    }
    audit::record(
        &txn,
        AuditEvent::MfaDisabled,
        Some(tenant.id),
        Some(user.id),
        ctx,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(Some(PasswordCheck::Ok))
}

/// Checks a second-step code (authenticator or recovery) under the password-guessing
/// limits of this account and address. A correct code is spent (its step stored, or the
/// recovery code marked used).
///
/// # Errors
/// A database or decryption failure.
pub async fn check_code(
    state: &AppState,
    user: &user::Model,
    tenant: &tenant::Model,
    code: &str,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<CodeCheck, AppError> {
    let keys = AttemptKeys::new(&tenant.slug, &user.email, ip);
    let ids = (Some(tenant.id), Some(user.id));
    let detail = "second-factor code".to_owned();
    let reservation = match signin::admit(state, &keys, ids.0, ids.1, ctx, detail).await? {
        Ok(r) => r,
        Err(t) => return Ok(CodeCheck::Throttled(t)),
    };
    let outcome = match spend_code(state, user, code, ctx).await {
        Ok(o) => o,
        Err(e) => {
            state.throttle.cancel(&state.db, reservation).await?;
            return Err(e);
        }
    };
    let result = if matches!(outcome, CodeCheck::Wrong) {
        Err("wrong second-factor code")
    } else {
        Ok(())
    };
    signin::settle(state, reservation, ids, ctx, result).await?;
    Ok(outcome)
}

/// What checking a passkey as the second step gave.
#[derive(Debug)]
pub enum PasskeyCheck {
    /// Accepted: the passkey's name.
    Ok(String),
    /// Refused (counted like a wrong password), with the message.
    Refused(&'static str),
    /// Too many failures: refused without checking.
    Throttled(Throttled),
}

/// Checks a passkey answer as the second step, under the same password-guessing limits as
/// a code ([`check_code`]): a refused answer counts as a failure.
///
/// # Errors
/// A database failure.
pub async fn check_passkey(
    state: &AppState,
    user: &user::Model,
    tenant: &tenant::Model,
    token: &str,
    credential: &str,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<PasskeyCheck, AppError> {
    let keys = AttemptKeys::new(&tenant.slug, &user.email, ip);
    let ids = (Some(tenant.id), Some(user.id));
    let detail = "second-factor passkey".to_owned();
    let reservation = match signin::admit(state, &keys, ids.0, ids.1, ctx, detail).await? {
        Ok(r) => r,
        Err(t) => return Ok(PasskeyCheck::Throttled(t)),
    };
    let outcome = crate::accounts::passkeys::finish_verification(
        &state.passkeys,
        &state.db,
        user,
        token,
        credential,
        ctx,
    )
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            state.throttle.cancel(&state.db, reservation).await?;
            return Err(e);
        }
    };
    let result = if outcome.is_err() {
        Err("refused second-factor passkey")
    } else {
        Ok(())
    };
    signin::settle(state, reservation, ids, ctx, result).await?;
    Ok(match outcome {
        Ok(name) => PasskeyCheck::Ok(name),
        Err(message) => PasskeyCheck::Refused(message),
    })
}

async fn spend_code(
    state: &AppState,
    user: &user::Model,
    code: &str,
    ctx: &EventContext,
) -> Result<CodeCheck, AppError> {
    let row = totp_row(&state.db, user.id)
        .await?
        .filter(|r| r.enabled_at.is_some());
    // Recovery codes also back up passkeys: without an app, only they are checked.
    if let Some(row) = row {
        let secret = state
            .keys
            .open_sealed(&aad(user.id), &row.secret)
            .map_err(AppError::Internal)?;
        if let Some(step) = matching_step(secret.expose_secret(), code) {
            // Accepted once: only a step later than the last accepted one wins.
            let won = user_totp::Entity::update_many()
                .col_expr(user_totp::Column::LastStep, Expr::value(step))
                .filter(user_totp::Column::UserId.eq(user.id))
                .filter(
                    Condition::any()
                        .add(user_totp::Column::LastStep.is_null())
                        .add(user_totp::Column::LastStep.lt(step)),
                )
                .exec(&state.db)
                .await?
                .rows_affected
                == 1;
            return Ok(if won {
                CodeCheck::Totp
            } else {
                CodeCheck::Wrong
            });
        }
    }
    let normal = normalise_code(code);
    if normal.len() != 10 {
        return Ok(CodeCheck::Wrong);
    }
    let txn = state.db.begin().await?;
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(Utc::now()))
        .filter(recovery_code::Column::UserId.eq(user.id))
        .filter(recovery_code::Column::CodeHash.eq(sha256_hex(normal.as_bytes())))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !used {
        return Ok(CodeCheck::Wrong);
    }
    let left = recovery_codes_left(&txn, user.id).await?;
    audit::record(
        &txn,
        AuditEvent::RecoveryCodeUsed,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        Some(format!("{left} left")),
    )
    .await?;
    txn.commit().await?;
    Ok(CodeCheck::Recovery(left))
}

/// Starts a pending second step for `user` (`purpose`: `web` or `api`); returns the raw
/// token (only its hash is stored).
///
/// # Errors
/// A database failure.
pub async fn issue_challenge(
    db: &impl ConnectionTrait,
    user: &user::Model,
    purpose: &str,
) -> Result<String, sea_orm::DbErr> {
    let token = random_token();
    let now = Utc::now();
    mfa_challenge::ActiveModel {
        id: Set(Uuid::new_v4()),
        token_hash: Set(sha256_hex(token.as_bytes())),
        user_id: Set(user.id),
        tenant_id: Set(user.tenant_id),
        purpose: Set(purpose.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(CHALLENGE_TTL_SECS)),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The live pending step of `token` for `purpose`, with its (active) user and tenant.
///
/// # Errors
/// A database failure.
pub async fn find_challenge(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: &str,
) -> Result<Option<(mfa_challenge::Model, user::Model, tenant::Model)>, sea_orm::DbErr> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let Some(ch) = mfa_challenge::Entity::find()
        .filter(mfa_challenge::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .filter(mfa_challenge::Column::Purpose.eq(purpose))
        .filter(mfa_challenge::Column::UsedAt.is_null())
        .filter(mfa_challenge::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let user = user::Entity::find_by_id(ch.user_id).one(db).await?;
    let tenant = tenant::Entity::find_by_id(ch.tenant_id).one(db).await?;
    Ok(match (user, tenant) {
        (Some(u), Some(t)) if u.is_active && t.is_active && u.tenant_id == t.id => Some((ch, u, t)),
        _ => None,
    })
}

/// Spends a pending step (inside the transaction that starts the session): `false` when
/// another request spent it first.
///
/// # Errors
/// A database failure.
pub async fn consume_challenge(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    Ok(mfa_challenge::Entity::update_many()
        .col_expr(mfa_challenge::Column::UsedAt, Expr::value(Utc::now()))
        .filter(mfa_challenge::Column::Id.eq(id))
        .filter(mfa_challenge::Column::UsedAt.is_null())
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// The `amr` of a sign-in with the password and a code (app or recovery).
pub const AMR_CODE: &str = "pwd otp mfa";
/// The `amr` of a sign-in with the password and a passkey.
pub const AMR_PASSKEY: &str = "pwd hwk mfa";

/// Completes a sign-in whose code was right: spends the pending step and starts the
/// session with `amr` [`AMR_CODE`]; `None` when the step was spent meanwhile.
///
/// # Errors
/// A database failure.
pub async fn complete(
    state: &AppState,
    challenge: &mfa_challenge::Model,
    user: user::Model,
    tenant: tenant::Model,
    ctx: &EventContext,
) -> Result<Option<crate::accounts::sessions::Session>, AppError> {
    complete_with(state, challenge, user, tenant, ctx, AMR_CODE).await
}

/// [`complete`] with the `amr` of the second step that was used.
///
/// # Errors
/// A database failure.
pub async fn complete_with(
    state: &AppState,
    challenge: &mfa_challenge::Model,
    user: user::Model,
    tenant: tenant::Model,
    ctx: &EventContext,
    amr: &str,
) -> Result<Option<crate::accounts::sessions::Session>, AppError> {
    let txn = state.db.begin().await?;
    if !consume_challenge(&txn, challenge.id).await? {
        return Ok(None);
    }
    let mut model = user.into_active_model();
    model.last_login_at = Set(Some(Utc::now()));
    let user = model.update(&txn).await?;
    let session = state
        .sessions
        .start_with_amr(&txn, user, tenant, ctx, amr)
        .await?;
    audit::record(
        &txn,
        AuditEvent::LoginSuccess,
        Some(session.tenant.id),
        Some(session.user.id),
        ctx,
        Some(if amr == AMR_CODE {
            "second factor".to_owned()
        } else {
            "second factor (passkey)".to_owned()
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_normalise_and_have_ten_characters() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(normalise_code(&code.to_uppercase()).len(), 10);
        assert_eq!(normalise_code(" AbCde-fgh23 "), "abcdefgh23");
    }

    #[test]
    fn codes_match_within_one_step_only() {
        let secret = [7u8; 20];
        let t = totp(&secret);
        let now = now_secs();
        assert!(matching_step(&secret, &t.generate(now).to_string()).is_some());
        assert!(matching_step(&secret, &t.generate(now - 30).to_string()).is_some());
        assert!(matching_step(&secret, &t.generate(now - 120).to_string()).is_none());
        assert!(matching_step(&secret, "12345").is_none());
        assert!(matching_step(&secret, "abcdef").is_none());
    }
}
