//! A signed-in user's own account: changing names, and changing the password (the
//! current one re-checked under the sign-in throttle, the new one under the policy;
//! every other sign-in of the user ends). The operator's password reset uses
//! [`set_password_hash`] too.

use std::net::IpAddr;

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, IntoActiveModel, Set, TransactionTrait,
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::accounts::access::SignedIn;
use crate::accounts::sessions;
use crate::accounts::signin::{self, PasswordCheck};
use crate::accounts::throttle::Throttled;
use crate::error::AppError;
use crate::infra::audit::{AuditEvent, EventContext, record};
use crate::infra::entities::{tenant, user};
use crate::infra::password;
use crate::state::AppState;

/// A password-change field with a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordField {
    /// The current password is wrong.
    Current,
    /// The new password breaks the policy.
    New,
}

/// What a password change gave.
#[derive(Debug)]
pub enum PasswordChange {
    /// Stored; every other sign-in ended.
    Changed,
    /// Refused, with each field's message.
    Refused(Vec<(PasswordField, String)>),
    /// Too many wrong passwords: refused without checking.
    Throttled(Throttled),
}

/// Changes the signed-in user's password. `None` = a field the front end found missing
/// (and reported); the other is still checked so every problem is reported at once.
///
/// # Errors
/// A database failure, or hashing busy/failed.
pub async fn change_password(
    state: &AppState,
    me: &SignedIn,
    current: Option<&str>,
    new: Option<&str>,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<PasswordChange, AppError> {
    let who = Account {
        user: &me.user,
        tenant: &me.tenant,
        keep: me.claims.sid,
    };
    change_password_of(state, who, current, new, ip, ctx).await
}

/// Whose password, and which of their sign-ins survives the change.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    /// The account.
    pub user: &'a user::Model,
    /// Its tenant.
    pub tenant: &'a tenant::Model,
    /// The sign-in that asked (kept); `None` ends them all.
    pub keep: Option<Uuid>,
}

/// [`change_password`] for a caller that knows the account and its sign-in (the account
/// page).
///
/// # Errors
/// A database failure, or hashing busy/failed.
pub async fn change_password_of(
    state: &AppState,
    me: Account<'_>,
    current: Option<&str>,
    new: Option<&str>,
    ip: IpAddr,
    ctx: &EventContext,
) -> Result<PasswordChange, AppError> {
    let mut problems = Vec::new();
    if let Some(n) = new
        && let Err(e) = password::check_policy(n, &me.user.email)
    {
        problems.push((PasswordField::New, e.to_string()));
    }
    let (Some(current), Some(new)) = (current, new) else {
        return Ok(PasswordChange::Refused(problems));
    };
    match signin::check_password(state, me.user, me.tenant, current, ip, ctx).await? {
        PasswordCheck::Ok => {}
        PasswordCheck::Wrong => problems.push((PasswordField::Current, "Invalid password.".into())),
        PasswordCheck::Throttled(t) => return Ok(PasswordChange::Throttled(t)),
    }
    if !problems.is_empty() {
        return Ok(PasswordChange::Refused(problems));
    }
    let hash = state
        .hasher
        .hash(&SecretString::from(new.to_owned()))
        .await?;
    set_password_hash(
        &state.db,
        me.user.clone(),
        hash,
        me.keep,
        ctx,
        "changed by the user",
    )
    .await?;
    Ok(PasswordChange::Changed)
}

/// Changes a user's names (already checked by [`crate::accounts::users::parse_name`]).
///
/// # Errors
/// A database failure.
pub async fn update_names(
    db: &impl ConnectionTrait,
    user: user::Model,
    first_name: Option<String>,
    last_name: Option<String>,
    ctx: &EventContext,
) -> Result<user::Model, sea_orm::DbErr> {
    if first_name.is_none() && last_name.is_none() {
        return Ok(user);
    }
    let (tenant_id, user_id) = (user.tenant_id, user.id);
    let mut model = user.into_active_model();
    if let Some(f) = first_name {
        model.first_name = Set(f);
    }
    if let Some(l) = last_name {
        model.last_name = Set(l);
    }
    let updated = model.update(db).await?;
    record(
        db,
        AuditEvent::ProfileUpdated,
        Some(tenant_id),
        Some(user_id),
        ctx,
        None,
    )
    .await?;
    Ok(updated)
}

/// Stores a new password hash and revokes every session of the user except `keep`
/// (the session that asked; `None` revokes all), in one transaction.
///
/// # Errors
/// A database failure.
pub async fn set_password_hash(
    db: &DatabaseConnection,
    user: user::Model,
    password_hash: String,
    keep: Option<Uuid>,
    ctx: &EventContext,
    detail: &str,
) -> Result<u64, sea_orm::DbErr> {
    let (tenant_id, user_id) = (user.tenant_id, user.id);
    let txn = db.begin().await?;
    let mut model = user.into_active_model();
    model.password_hash = Set(password_hash);
    model.update(&txn).await?;
    let revoked = sessions::revoke_all_for_user_except(&txn, user_id, keep).await?;
    // A reset link mailed before the change would undo it: it dies.
    crate::accounts::links::revoke_for_user(
        &txn,
        crate::infra::entities::link_token::LinkKind::PasswordReset,
        user_id,
    )
    .await?;
    record(
        &txn,
        AuditEvent::PasswordChanged,
        Some(tenant_id),
        Some(user_id),
        ctx,
        Some(format!("{detail}; {revoked} refresh tokens revoked")),
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}
