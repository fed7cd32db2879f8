//! The simplejwt-shaped token endpoints: `jwt/create/` (password sign-in, same throttle,
//! same generic failure and same audit as `POST /login`), `jwt/refresh/` (rotation with
//! grace and reuse detection: [`crate::sessions`]), `jwt/verify/` and `jwt/revoke/`.
//! Tokens travel in the JSON body only: these endpoints never set cookies.

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde_json::{Value, json};

use super::body::JsonBody;
use super::error::{ApiError, ApiResult, FieldErrors};
use crate::audit::{self, EventKind};
use crate::routes::login::FAILED;
use crate::routes::{Meta, access_token_for};
use crate::sessions::Session;
use crate::signin::{self, Credentials, SignIn};
use crate::state::AppState;

fn pair(state: &AppState, session: &Session) -> ApiResult<Json<Value>> {
    let access = access_token_for(state, session)?;
    Ok(Json(json!({
        "access": access,
        "refresh": session.refresh_token,
    })))
}

/// `POST jwt/create/` `{tenant_slug, email, password}` → `{access, refresh}`.
pub async fn create(
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let mut errors = FieldErrors::default();
    let tenant_slug = body.string("tenant_slug", &mut errors);
    let email = body.string("email", &mut errors);
    let password = body.raw("password", &mut errors);
    let (Some(tenant_slug), Some(email), Some(password)) = (tenant_slug, email, password) else {
        return Err(ApiError::Fields(errors));
    };
    let creds = Credentials {
        tenant_slug: &tenant_slug,
        email: &email,
        password: &password,
    };
    match signin::sign_in(&state, creds, meta.ip, &meta.event_context()).await? {
        SignIn::Ok(session) => pair(&state, &session),
        SignIn::Failed => Err(ApiError::Unauthenticated {
            detail: FAILED,
            code: "no_active_account",
        }),
        SignIn::Throttled(t) => Err(ApiError::Throttled(t)),
    }
}

/// `POST jwt/refresh/` `{refresh}` → a new `{access, refresh}`; the old refresh token is
/// spent (within the grace it yields the same successor; after it, its family is revoked).
pub async fn refresh(
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let mut errors = FieldErrors::default();
    let Some(token) = body.raw("refresh", &mut errors) else {
        return Err(ApiError::Fields(errors));
    };
    match signin::refresh(&state, &token, &meta.event_context()).await? {
        Some(session) => pair(&state, &session),
        None => Err(ApiError::token_not_valid()),
    }
}

/// `POST jwt/verify/` `{token}` → `200 {}` when the access token verifies and its
/// session is still signed in, else `401`.
pub async fn verify(State(state): State<AppState>, body: JsonBody) -> ApiResult<Json<Value>> {
    let mut errors = FieldErrors::default();
    let Some(token) = body.raw("token", &mut errors) else {
        return Err(ApiError::Fields(errors));
    };
    let claims = state
        .verifier
        .verify(&token)
        .map_err(|_| ApiError::token_not_valid())?;
    if let Some(sid) = claims.sid
        && !state.sessions.family_is_active(&state.db, sid).await?
    {
        return Err(ApiError::token_not_valid());
    }
    Ok(Json(json!({})))
}

/// `POST jwt/revoke/` `{refresh}` → `204`: the token's whole family (the sign-in) ends.
/// Unknown tokens get the same answer, so the endpoint tells nothing.
pub async fn revoke(
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> ApiResult<StatusCode> {
    let mut errors = FieldErrors::default();
    let Some(token) = body.raw("refresh", &mut errors) else {
        return Err(ApiError::Fields(errors));
    };
    if let Some(row) = state.sessions.revoke_by_token(&state.db, &token).await? {
        audit::record(
            &state.db,
            EventKind::Logout,
            Some(row.tenant_id),
            Some(row.user_id),
            &meta.event_context(),
            Some("jwt/revoke".to_owned()),
        )
        .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
