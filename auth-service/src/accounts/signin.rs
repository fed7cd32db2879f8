//! Password sign-in, password re-checks and refresh rotation, for every front end
//! (`POST /login`, `GET /refresh`, the account page, `jwt/create/`, `jwt/refresh/`,
//! `users/set_password/`). The rules: one answer for every kind of failure
//! ([`FAILED`]), a dummy argon2 verification when there is no account, the
//! password-guessing limits of [`crate::accounts::throttle`] — a slot reserved before
//! argon2 runs and settled after, on the one path every password check takes
//! (`admit`, `verify_reserved`, `settle`) — the audit log, and a replayed refresh
//! token revoking its family and being audited.

use std::net::IpAddr;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, IntoActiveModel, Set};
use secrecy::SecretString;
use uuid::Uuid;

use crate::accounts::sessions::{Refreshed, Session};
use crate::accounts::throttle::{Admission, AttemptKeys, Reservation, Throttled};
use crate::accounts::users;
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::entities::{tenant, user};
use crate::infra::password::{HashError, MAX_LEN, Verified};
use crate::state::AppState;

/// The one message for every failed sign-in.
pub const FAILED: &str = "The organization, email or password is not correct.";

/// What a sign-in attempt gave.
#[derive(Debug)]
pub enum SignIn {
    /// Right credentials: a new refresh family was started.
    Ok(Box<Session>),
    /// Anything wrong (never says what).
    Failed,
    /// Too many failures for this account or address.
    Throttled(Throttled),
    /// The right password, but the account was created under a `domains:` policy and
    /// its address is not verified yet: no session (the front end says so and offers
    /// to resend the link). Only ever given after a correct password.
    Unverified,
    /// The right password of an account with a second factor: no session yet; the front
    /// end starts a pending step ([`crate::accounts::mfa`]).
    SecondFactor(Box<(user::Model, tenant::Model)>),
    /// The right password of an account the tenant policy (`mfa_required`) covers that
    /// has no second factor yet: no session until one is set up.
    SetupRequired(Box<(user::Model, tenant::Model)>),
}

/// What a sign-in form or `jwt/create/` sent.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// Organization slug as typed.
    pub tenant_slug: &'a str,
    /// Email as typed.
    pub email: &'a str,
    /// The password.
    pub password: &'a str,
}

/// Signs in with a password: a reserved slot (or a refusal), lookup, verification (a
/// dummy one when there is no account), the attempt settled, audit, and a new session.
///
/// # Errors
/// A database failure, or hashing busy/failed.
pub async fn sign_in(
    state: &AppState,
    creds: Credentials<'_>,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<SignIn, AppError> {
    let result = sign_in_counted(state, creds, ip, ctx).await;
    crate::infra::metrics::sign_in(match &result {
        Ok(SignIn::Ok(_)) => "success",
        Ok(SignIn::Failed) => "failure",
        Ok(SignIn::Throttled(_)) => "throttled",
        Ok(SignIn::Unverified) => "unverified",
        Ok(SignIn::SecondFactor(_)) => "second_factor",
        Ok(SignIn::SetupRequired(_)) => "setup_required",
        Err(_) => "error",
    });
    result
}

/// A successful sign-in is ten round trips to the database (twenty before issue 13's
/// round-trip cut): the reservation (`SELECT` the three buckets, one `INSERT … ON CONFLICT
/// DO UPDATE … RETURNING`; no transaction), the lookup (one `SELECT` of tenant, user and
/// second factor), then one transaction: `BEGIN`, `UPDATE users`, `DELETE throttle_slots`,
/// `INSERT` the refresh family, its token and the audit row, `COMMIT`. The test
/// `a_successful_sign_in_runs_eight_statements_and_one_transaction` holds it to that.
async fn sign_in_counted(
    state: &AppState,
    creds: Credentials<'_>,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<SignIn, AppError> {
    let tenant_raw = creds.tenant_slug.trim().to_lowercase();
    let email_raw = creds.email.trim();
    if tenant_raw.is_empty() || email_raw.is_empty() || creds.password.is_empty() {
        // Nothing was tried: no failure is counted and nothing is written.
        return Ok(SignIn::Failed);
    }
    refuse_when_hashing_is_full(state)?;
    let keys = AttemptKeys::new(&tenant_raw, email_raw, ip);
    let detail = format!("tenant {tenant_raw}");
    let reservation = match admit(state, &keys, None, None, ctx, detail).await? {
        Ok(r) => r,
        Err(t) => return Ok(SignIn::Throttled(t)),
    };
    // The tenant, the account and its second factor in one query (unknown ones are None).
    let users::SignInLookup {
        tenant,
        user,
        has_second_factor,
    } = users::find_for_sign_in(&state.db, &tenant_raw, email_raw).await?;
    let (reservation, verified) =
        verify_reserved(state, reservation, creds.password, user.as_ref()).await?;
    let active =
        tenant.as_ref().is_some_and(|t| t.is_active) && user.as_ref().is_some_and(|u| u.is_active);
    let (Some(tenant), Some(user), true) = (
        tenant.clone(),
        user.clone(),
        active && verified != Verified::No,
    ) else {
        let reason = match (&tenant, &user, &verified) {
            (None, _, _) => "unknown organization",
            (_, None, _) => "unknown email",
            (_, _, Verified::No) => "wrong password",
            _ => "inactive account",
        };
        let ids = (tenant.as_ref().map(|t| t.id), user.as_ref().map(|u| u.id));
        settle(state, reservation, ids, ctx, Err(reason)).await?;
        return Ok(SignIn::Failed);
    };
    let ids = (Some(tenant.id), Some(user.id));
    if user.awaits_verification() {
        // The password was right: the attempt counts as a success for the throttle.
        let txn = state.writes.begin(&state.db).await?;
        settle_in(&*txn, state, reservation, ids, ctx, Ok(())).await?;
        audit::record(
            &*txn,
            AuditEvent::LoginFailure,
            ids.0,
            ids.1,
            ctx,
            Some("address not verified".to_owned()),
        )
        .await?;
        txn.commit().await?;
        return Ok(SignIn::Unverified);
    }
    if has_second_factor {
        // The password was right; the code is the next guess to count.
        let txn = state.writes.begin(&state.db).await?;
        if let Verified::YesRehashed(hash) = &verified {
            let mut model = user.clone().into_active_model();
            model.password_hash = Set(hash.clone());
            model.update(&*txn).await?;
        }
        settle_in(&*txn, state, reservation, ids, ctx, Ok(())).await?;
        txn.commit().await?;
        return Ok(SignIn::SecondFactor(Box::new((user, tenant))));
    }
    if crate::accounts::mfa::policy_requires(&tenant, &user) {
        settle(state, reservation, ids, ctx, Ok(())).await?;
        return Ok(SignIn::SetupRequired(Box::new((user, tenant))));
    }
    // Everything a successful sign-in writes, in one transaction (one turn of the write
    // queue on SQLite): the last sign-in, the throttle settled, the session, the audit row.
    let txn = state.writes.begin(&state.db).await?;
    let mut model = user.into_active_model();
    if let Verified::YesRehashed(hash) = verified {
        model.password_hash = Set(hash);
    }
    model.last_login_at = Set(Some(Utc::now()));
    let user = model.update(&*txn).await?;
    settle_in(&*txn, state, reservation, ids, ctx, Ok(())).await?;
    let session = state.sessions.start(&*txn, user, tenant, ctx).await?;
    audit::record(
        &*txn,
        AuditEvent::LoginSuccess,
        Some(session.tenant.id),
        Some(session.user.id),
        ctx,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(SignIn::Ok(Box::new(session)))
}

/// What re-checking a signed-in user's password gave.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Right.
    Ok,
    /// Wrong (counted like a failed sign-in).
    Wrong,
    /// Too many failures: refused without checking.
    Throttled(Throttled),
}

/// Re-checks the password of a signed-in user (before a password change): the same
/// limits and keys as signing in to that account from that address, so guessing through
/// this door counts towards the same lock.
///
/// # Errors
/// A database failure, or hashing busy/failed.
pub async fn check_password(
    state: &AppState,
    user: &user::Model,
    tenant: &tenant::Model,
    password: &str,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<PasswordCheck, AppError> {
    let keys = AttemptKeys::new(&tenant.slug, &user.email, ip);
    let ids = (Some(tenant.id), Some(user.id));
    let detail = "password re-check".to_owned();
    refuse_when_hashing_is_full(state)?;
    let reservation = match admit(state, &keys, ids.0, ids.1, ctx, detail).await? {
        Ok(r) => r,
        Err(t) => return Ok(PasswordCheck::Throttled(t)),
    };
    let (reservation, verified) = verify_reserved(state, reservation, password, Some(user)).await?;
    if verified == Verified::No {
        settle(state, reservation, ids, ctx, Err("wrong current password")).await?;
        return Ok(PasswordCheck::Wrong);
    }
    settle(state, reservation, ids, ctx, Ok(())).await?;
    Ok(PasswordCheck::Ok)
}

/// What presenting a refresh token gave.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// The rotated session.
    Ok(Box<Session>),
    /// Unknown, expired, revoked or replayed.
    Invalid,
    /// The tenant policy requires a second factor this sign-in did not use: nothing
    /// rotated; sign in again.
    SecondFactorRequired,
}

/// What a refresh refused under the tenant policy is told.
pub const REFRESH_NEEDS_MFA: &str = "Your organization requires a second factor: sign in again with it (or set one up when you sign in).";

/// Presents a refresh token (from a cookie or a JSON body): the rotated session, or why
/// not — a replay after the grace revokes its family and is recorded in the audit log; a
/// sign-in without a second factor of a user the tenant policy covers is refused.
///
/// # Errors
/// A database failure.
pub async fn refresh(
    state: &AppState,
    token: &str,
    ctx: &EventContext,
) -> Result<RefreshOutcome, AppError> {
    match state.sessions.refresh(&state.db, token, ctx).await? {
        Refreshed::Ok(session) => Ok(RefreshOutcome::Ok(session)),
        Refreshed::Invalid => Ok(RefreshOutcome::Invalid),
        Refreshed::SecondFactorRequired => Ok(RefreshOutcome::SecondFactorRequired),
        Refreshed::Reused {
            family_id,
            user_id,
            tenant_id,
        } => {
            audit::record(
                &state.db,
                AuditEvent::RefreshReuse,
                Some(tenant_id),
                Some(user_id),
                ctx,
                Some(format!("family {family_id} revoked")),
            )
            .await?;
            Ok(RefreshOutcome::Invalid)
        }
    }
}

/// Reserves the attempt's slots before any password is checked (two statements: a read
/// and one claim of all three slots); a refusal claims nothing, is audited
/// (`login_throttled`, with `detail`) and returned.
///
/// # Errors
/// A database failure (nothing is reserved; a slot claimed before it, after a lost race,
/// is given back when possible).
pub(crate) async fn admit(
    state: &AppState,
    keys: &AttemptKeys,
    tenant_id: Option<Uuid>,
    user_id: Option<Uuid>,
    ctx: &EventContext,
    detail: String,
) -> Result<Result<Reservation, Throttled>, AppError> {
    // No transaction: the reservation claims its three slots with ONE statement (all or
    // none; a racer in between is handled in `throttle`), and a refusal writes only its
    // audit row. On SQLite the statements still wait for this process's turn to write.
    let _turn = state.writes.turn().await?;
    let admitted = match state.throttle.reserve(&state.db, keys).await? {
        Admission::Granted(r) => Ok(r),
        Admission::Refused(t) => {
            crate::infra::metrics::throttled("sign_in_lock");
            audit::record(
                &state.db,
                AuditEvent::LoginThrottled,
                tenant_id,
                user_id,
                ctx,
                Some(detail),
            )
            .await?;
            Err(t)
        }
    };
    Ok(admitted)
}

/// Answers `503` + `Retry-After` at once when every place of the hashing pool (running and
/// waiting checks) is taken: before the throttle reserves slots or accounts are read, so a
/// refusal under a sign-in storm costs no database write. A check admitted here may still
/// find the pool full a moment later; [`verify_reserved`] then gives its slots back.
///
/// # Errors
/// [`AppError::Busy`].
fn refuse_when_hashing_is_full(state: &AppState) -> Result<(), AppError> {
    if state.hasher.is_full() {
        return Err(HashError::Busy.into());
    }
    Ok(())
}

/// Verifies under a reservation; when no check could run (hashing busy or failed) the
/// slots are given back before the error is returned.
///
/// # Errors
/// A database failure, or hashing busy/failed.
async fn verify_reserved(
    state: &AppState,
    reservation: Reservation,
    password: &str,
    user: Option<&user::Model>,
) -> Result<(Reservation, Verified), AppError> {
    match verify(state, password, user).await {
        Ok(v) => Ok((reservation, v)),
        Err(e) => {
            let txn = state.writes.begin(&state.db).await?;
            state.throttle.cancel(&*txn, reservation).await?;
            txn.commit().await?;
            Err(e)
        }
    }
}

/// Verifies against the stored hash, or a dummy one; over-long passwords cannot be right.
async fn verify(
    state: &AppState,
    password: &str,
    user: Option<&user::Model>,
) -> Result<Verified, AppError> {
    if password.chars().count() > MAX_LEN {
        return Ok(Verified::No);
    }
    let secret = SecretString::from(password.to_owned());
    Ok(state
        .hasher
        .verify(&secret, user.map(|u| u.password_hash.as_str()))
        .await?)
}

/// Settles a checked attempt (one write transaction): a success frees the account for this
/// address; a failure (`Err(reason)`) keeps its slots, is audited, and so is the lock it
/// may leave.
///
/// # Errors
/// A database failure.
pub(crate) async fn settle(
    state: &AppState,
    reservation: Reservation,
    ids: (Option<Uuid>, Option<Uuid>),
    ctx: &EventContext,
    outcome: Result<(), &str>,
) -> Result<(), AppError> {
    let txn = state.writes.begin(&state.db).await?;
    settle_in(&*txn, state, reservation, ids, ctx, outcome).await?;
    txn.commit().await?;
    Ok(())
}

/// [`settle`] inside the caller's transaction `db`.
async fn settle_in(
    db: &impl ConnectionTrait,
    state: &AppState,
    reservation: Reservation,
    (tenant_id, user_id): (Option<Uuid>, Option<Uuid>),
    ctx: &EventContext,
    outcome: Result<(), &str>,
) -> Result<(), AppError> {
    let Err(reason) = outcome else {
        state.throttle.settle_success(db, reservation).await?;
        return Ok(());
    };
    audit::record(
        db,
        AuditEvent::LoginFailure,
        tenant_id,
        user_id,
        ctx,
        Some(reason.to_owned()),
    )
    .await?;
    if let Some(lock) = state.throttle.settle_failure(db, reservation).await? {
        audit::record(
            db,
            AuditEvent::Lock,
            tenant_id,
            user_id,
            ctx,
            Some(format!("locked for {} s", lock.retry_after_secs())),
        )
        .await?;
    }
    Ok(())
}
