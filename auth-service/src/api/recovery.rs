//! djoser's e-mail endpoints: `users/reset_password/`, `users/reset_password_confirm/`,
//! `users/activation/`, `users/resend_activation/`. The rules are the use cases'
//! ([`recovery`], [`verification`]), shared with the pages: asking answers `204`
//! whatever the account, before any lookup (the work runs in a spawned task); a link
//! that does not work is one `400 {"detail": …}`.

use axum::extract::State;
use http::StatusCode;

use super::body::JsonBody;
use crate::accounts::recovery::{self, Reset};
use crate::accounts::verification::{self, ADDRESS_TAKEN, Verification};
use crate::error::{AppError, FieldErrors};
use crate::request::Meta;
use crate::request::rate_limit::{PasswordResets, RateLimited, TokenChecks};
use crate::state::AppState;

/// The one answer to a token that does not work.
pub const INVALID_TOKEN: &str = "Invalid token for given user.";

/// `{tenant_slug, email}`, both present strings.
fn ask_body(body: &JsonBody) -> Result<(String, String), AppError> {
    let mut errors = FieldErrors::default();
    let slug = body.string("tenant_slug", &mut errors);
    let email = body.string("email", &mut errors);
    match (slug, email) {
        (Some(s), Some(e)) if errors.is_empty() => Ok((s, e)),
        _ => Err(AppError::Fields(errors)),
    }
}

/// `POST users/reset_password/` `{tenant_slug, email}` → `204`, always.
pub async fn reset_password(
    _: RateLimited<PasswordResets>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<StatusCode, AppError> {
    let (slug, email) = ask_body(&body)?;
    recovery::spawn_request(&state, slug, email, meta.event_context());
    Ok(StatusCode::NO_CONTENT)
}

/// `POST users/reset_password_confirm/` `{token, new_password}` → `204`; every session of
/// the user ends (no new one: the client signs in with `jwt/create/`).
pub async fn reset_password_confirm(
    _: RateLimited<PasswordResets>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<StatusCode, AppError> {
    let mut errors = FieldErrors::default();
    let token = body.raw("token", &mut errors);
    let new_password = body.raw("new_password", &mut errors);
    let (Some(token), Some(new_password)) = (token, new_password) else {
        return Err(AppError::Fields(errors));
    };
    let ctx = meta.event_context();
    match recovery::reset_password(&state, &token, &new_password, &ctx).await? {
        Reset::Done { .. } => Ok(StatusCode::NO_CONTENT),
        Reset::InvalidLink => Err(AppError::BadRequest(INVALID_TOKEN.into())),
        Reset::WeakPassword(m) => Err(AppError::Fields(FieldErrors::single("new_password", m))),
    }
}

/// `POST users/activation/` `{token}` → `204` (a verification or address-change token).
pub async fn activation(
    _: RateLimited<TokenChecks>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<StatusCode, AppError> {
    let mut errors = FieldErrors::default();
    let Some(token) = body.raw("token", &mut errors) else {
        return Err(AppError::Fields(errors));
    };
    match verification::verify(&state, &token, &meta.event_context()).await? {
        Verification::Verified(_) | Verification::Changed(_) => Ok(StatusCode::NO_CONTENT),
        Verification::InvalidLink => Err(AppError::BadRequest(INVALID_TOKEN.into())),
        Verification::AddressTaken => Err(AppError::BadRequest(ADDRESS_TAKEN.into())),
    }
}

/// `POST users/resend_activation/` `{tenant_slug, email}` → `204`, always.
pub async fn resend_activation(
    _: RateLimited<PasswordResets>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<StatusCode, AppError> {
    let (slug, email) = ask_body(&body)?;
    verification::spawn_resend(&state, slug, email, meta.event_context());
    Ok(StatusCode::NO_CONTENT)
}
