//! Access tokens: the one rule for "is this access token still a signed-in user" —
//! it verifies with this service's keys, its sign-in (`sid`) is not signed out, and its
//! user and tenant exist, belong together and are active — and the minting of the
//! token for a session.

use sea_orm::EntityTrait;
use shared_jwt::{AccessTokenInput, Claims};

use crate::accounts::sessions::Session;
use crate::accounts::users::display_name;
use crate::error::AppError;
use crate::infra::entities::{tenant, user};
use crate::state::AppState;

/// The user an access token stands for, as stored now.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account.
    pub user: user::Model,
    /// Its tenant.
    pub tenant: tenant::Model,
    /// The verified claims.
    pub claims: Claims,
}

/// The claims of a token that verifies (signature, expiry, issuer, audience), whatever
/// the state of its sign-in: enough to know which sign-in to end.
#[must_use]
pub fn verify(state: &AppState, token: &str) -> Option<Claims> {
    // An owned copy: this path reads the database anyway, a clone is nothing beside it.
    state
        .verifier
        .verify(token)
        .ok()
        .map(std::sync::Arc::unwrap_or_clone)
}

/// The signed-in user of `token`, or `None` when it does not verify, its sign-in was
/// signed out, or its user or tenant is gone or inactive.
///
/// # Errors
/// A database failure.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Option<SignedIn>, AppError> {
    let Some(claims) = verify(state, token) else {
        return Ok(None);
    };
    // A key revoked by the CLI or another replica is refused at once, before this
    // replica's next reload drops it from the verifier.
    if let Some(kid) = token_kid(token)
        && state.keys.is_revoked(&kid).await?
    {
        return Ok(None);
    }
    if let Some(sid) = claims.sid
        && !state.sessions.family_is_active(&state.db, sid).await?
    {
        return Ok(None);
    }
    let user = user::Entity::find_by_id(claims.user_id)
        .one(&state.db)
        .await?;
    let tenant = tenant::Entity::find_by_id(claims.tenant_id)
        .one(&state.db)
        .await?;
    Ok(match (user, tenant) {
        (Some(user), Some(tenant))
            if user.is_active && tenant.is_active && user.tenant_id == tenant.id =>
        {
            Some(SignedIn {
                user,
                tenant,
                claims,
            })
        }
        _ => None,
    })
}

/// The `kid` of a token's header (only called on tokens that verified).
fn token_kid(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("kid")?.as_str().map(str::to_owned)
}

/// Mints the access token for a session.
///
/// # Errors
/// A signing failure (500).
pub fn issue(state: &AppState, session: &Session) -> Result<String, AppError> {
    state
        .signer
        .issue_with_amr(
            &AccessTokenInput {
                user_id: session.user.id,
                tenant_id: session.tenant.id,
                tenant_slug: session.tenant.slug.clone(),
                role: session.user.claim_role(),
                email: session.user.email.clone(),
                name: display_name(&session.user),
                email_verified: session.user.email_verified,
                session_id: Some(session.family_id),
            },
            &session.amr.split_whitespace().collect::<Vec<_>>(),
        )
        .map_err(|e| AppError::Internal(e.context("signing failed")))
}
