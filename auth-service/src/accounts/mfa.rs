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
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Set, TransactionTrait,
};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::accounts::signin::{self, PasswordCheck};
use crate::accounts::throttle::{AttemptKeys, Throttled};
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::crypto::{fill_random, random_token, sha256_hex};
use crate::infra::entities::{mfa_challenge, recovery_code, tenant, user, user_totp};
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

/// Whether the user has a confirmed second factor.
///
/// # Errors
/// A database failure.
pub async fn has_second_factor(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    Ok(totp_row(db, user_id)
        .await?
        .is_some_and(|r| r.enabled_at.is_some()))
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
    if has_second_factor(&txn, user.id).await? {
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

/// Removes the second factor after re-checking the password (counted like a sign-in);
/// `None` (nothing checked or changed) when the tenant policy requires one.
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
    if policy_requires(tenant, user) {
        return Ok(None);
    }
    let check = signin::check_password(state, user, tenant, password, ip, ctx).await?;
    if check != PasswordCheck::Ok {
        return Ok(Some(check));
    }
    let txn = state.db.begin().await?;
    user_totp::Entity::delete_by_id(user.id).exec(&txn).await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
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

async fn spend_code(
    state: &AppState,
    user: &user::Model,
    code: &str,
    ctx: &EventContext,
) -> Result<CodeCheck, AppError> {
    let Some(row) = totp_row(&state.db, user.id).await? else {
        return Ok(CodeCheck::Wrong);
    };
    if row.enabled_at.is_none() {
        return Ok(CodeCheck::Wrong);
    }
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

/// Completes a sign-in whose code was right: spends the pending step and starts the
/// session with `amr` `pwd otp mfa`; `None` when the step was spent meanwhile.
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
    let txn = state.db.begin().await?;
    if !consume_challenge(&txn, challenge.id).await? {
        return Ok(None);
    }
    let session = state
        .sessions
        .start_with_amr(&txn, user, tenant, ctx, "pwd otp mfa")
        .await?;
    audit::record(
        &txn,
        AuditEvent::LoginSuccess,
        Some(session.tenant.id),
        Some(session.user.id),
        ctx,
        Some("second factor".to_owned()),
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
