//! Ending sign-ins, each audited: one sign-in (by its refresh token, or by the `sid` of
//! an access token when the refresh token is gone), every sign-in of a user, or one
//! listed session of the account page. Each revocation and its audit record are one
//! transaction, which starts with the revocation's write (see `sessions`).

use sea_orm::TransactionTrait;
use uuid::Uuid;

use crate::accounts::access;
use crate::accounts::sessions;
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::entities::user;
use crate::state::AppState;

/// What identifies the sign-in to end.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignOut<'a> {
    /// The refresh token (cookie or JSON body).
    pub refresh_token: Option<&'a str>,
    /// An access token, used when the refresh token is missing or unknown.
    pub access_token: Option<&'a str>,
}

/// Ends the sign-in `tokens` identify; unknown tokens end nothing and say nothing.
/// `detail` goes to the audit log (which door was used).
///
/// # Errors
/// A database failure.
pub async fn sign_out(
    state: &AppState,
    tokens: SignOut<'_>,
    ctx: &EventContext,
    detail: Option<&str>,
) -> Result<(), AppError> {
    let mut ended = None;
    let txn = state.db.begin().await?;
    if let Some(token) = tokens.refresh_token
        && let Some(row) = state.sessions.revoke_by_token(&txn, token).await?
    {
        ended = Some((row.tenant_id, row.user_id));
    }
    if ended.is_none()
        && let Some(claims) = tokens.access_token.and_then(|t| access::verify(state, t))
        && let Some(sid) = claims.sid
    {
        sessions::revoke_family(&txn, sid).await?;
        ended = Some((claims.tenant_id, claims.user_id));
    }
    if let Some((tenant_id, user_id)) = ended {
        audit::record(
            &txn,
            AuditEvent::Logout,
            Some(tenant_id),
            Some(user_id),
            ctx,
            detail.map(str::to_owned),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Ends every sign-in of the user.
///
/// # Errors
/// A database failure.
pub async fn sign_out_everywhere(
    state: &AppState,
    user: &user::Model,
    ctx: &EventContext,
) -> Result<(), AppError> {
    let txn = state.db.begin().await?;
    let count = sessions::revoke_all_for_user(&txn, user.id).await?;
    audit::record(
        &txn,
        AuditEvent::LogoutAll,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        Some(format!("{count} tokens revoked")),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends one of the user's own sign-ins.
///
/// # Errors
/// [`AppError::NotFound`] when it is not theirs (or not live), or a database failure.
pub async fn revoke_session(
    state: &AppState,
    user: &user::Model,
    family_id: Uuid,
    ctx: &EventContext,
) -> Result<(), AppError> {
    let txn = state.db.begin().await?;
    if !sessions::revoke_user_family(&txn, user.id, family_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &txn,
        AuditEvent::SessionRevoked,
        Some(user.tenant_id),
        Some(user.id),
        ctx,
        Some(format!("family {family_id}")),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
