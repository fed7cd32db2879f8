//! The simplejwt-shaped token endpoints: `jwt/create/` (password sign-in: the same
//! use case, throttle, generic failure and audit as `POST /login`), `jwt/refresh/`
//! (rotation with grace and reuse detection), `jwt/verify/` (the same "still signed
//! in" rule as every authenticated route) and `jwt/revoke/` (sign-out). Tokens travel
//! in the JSON body only: these endpoints never set cookies.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use super::body::JsonBody;
use crate::accounts::sessions::Session;
use crate::accounts::signin::{self, Credentials, RefreshOutcome, SignIn};
use crate::accounts::signout::{self, SignOut};
use crate::accounts::{access, mfa};
use crate::error::{AppError, FieldErrors, Unauthenticated};
use crate::request::Meta;
use crate::request::rate_limit::{RateLimited, Refreshes, SignInAttempts, TokenChecks};
use crate::state::AppState;

fn pair(state: &AppState, session: &Session) -> Result<Json<Value>, AppError> {
    let access = access::issue(state, session)?;
    Ok(Json(json!({
        "access": access,
        "refresh": session.refresh_token,
    })))
}

/// `jwt/create/`'s body.
#[derive(Debug)]
pub struct CreateBody {
    /// Organization slug.
    pub tenant_slug: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

impl CreateBody {
    /// Reads the body, reporting every missing or mistyped field.
    ///
    /// # Errors
    /// [`AppError::Fields`].
    pub fn parse(body: &JsonBody) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let tenant_slug = body.string("tenant_slug", &mut errors);
        let email = body.string("email", &mut errors);
        let password = body.raw("password", &mut errors);
        match (tenant_slug, email, password) {
            (Some(tenant_slug), Some(email), Some(password)) => Ok(Self {
                tenant_slug,
                email,
                password,
            }),
            _ => Err(AppError::Fields(errors)),
        }
    }
}

/// A body with one token field (`refresh` or `token`).
fn token_field(body: &JsonBody, name: &str) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    body.raw(name, &mut errors).ok_or(AppError::Fields(errors))
}

/// `POST jwt/create/` `{tenant_slug, email, password}` → `{access, refresh}`.
pub async fn create(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<Response, AppError> {
    let body = CreateBody::parse(&body)?;
    let creds = Credentials {
        tenant_slug: &body.tenant_slug,
        email: &body.email,
        password: &body.password,
    };
    match signin::sign_in(&state, creds, meta.ip, &meta.event_context()).await? {
        SignIn::Ok(session) => Ok(pair(&state, &session)?.into_response()),
        SignIn::Failed => Err(AppError::Unauthenticated(Unauthenticated::NoActiveAccount)),
        SignIn::Throttled(t) => Err(AppError::Throttled(t)),
        SignIn::Unverified => Err(AppError::EmailNotVerified),
        SignIn::SetupRequired(_) => Ok(unauthorized(json!({
            "detail": "Your organization requires a second factor: sign in on the web to set one up first.",
            "code": "mfa_setup_required",
        }))),
        SignIn::SecondFactor(pending) => {
            let token = mfa::issue_challenge(&state.db, &pending.0, mfa::API).await?;
            Ok(unauthorized(json!({
                "detail": "A second factor is required: send a code with this mfa_token to jwt/create/mfa/ within 5 minutes.",
                "code": "mfa_required",
                "mfa_token": token,
            })))
        }
    }
}

fn unauthorized(body: Value) -> Response {
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// `POST jwt/create/mfa/` `{mfa_token, code}` → `{access, refresh}`: the second step of
/// `jwt/create/` (an authenticator code or a recovery code; the token is single use and
/// lives 5 minutes; wrong codes count like wrong passwords).
pub async fn create_mfa(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let token = body.raw("mfa_token", &mut errors);
    let code = body.raw("code", &mut errors);
    let (Some(token), Some(code)) = (token, code) else {
        return Err(AppError::Fields(errors));
    };
    let expired =
        || unauthorized(json!({ "detail": mfa::STEP_EXPIRED, "code": "mfa_token_invalid" }));
    let Some((challenge, user, tenant)) = mfa::find_challenge(&state.db, &token, mfa::API).await?
    else {
        return Ok(expired());
    };
    let ctx = meta.event_context();
    match mfa::check_code(&state, &user, &tenant, &code, meta.ip, &ctx).await? {
        mfa::CodeCheck::Wrong => Ok(unauthorized(
            json!({ "detail": mfa::WRONG_CODE, "code": "mfa_code_invalid" }),
        )),
        mfa::CodeCheck::Throttled(t) => Err(AppError::Throttled(t)),
        mfa::CodeCheck::Totp | mfa::CodeCheck::Recovery(_) => {
            match mfa::complete(&state, &challenge, user, tenant, &ctx).await? {
                Some(session) => Ok(pair(&state, &session)?.into_response()),
                None => Ok(expired()),
            }
        }
    }
}

/// `POST jwt/refresh/` `{refresh}` → a new `{access, refresh}`; the old refresh token is
/// spent (within the grace it yields the same successor; after it, its family is revoked).
/// `403 {"code": "mfa_required"}` (nothing spent) when the tenant policy covers the user
/// and the sign-in had no second factor.
pub async fn refresh(
    _: RateLimited<Refreshes>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<Response, AppError> {
    let token = token_field(&body, "refresh")?;
    match signin::refresh(&state, &token, &meta.event_context()).await? {
        RefreshOutcome::Ok(session) => Ok(pair(&state, &session)?.into_response()),
        RefreshOutcome::Invalid => Err(AppError::Unauthenticated(Unauthenticated::TokenNotValid)),
        RefreshOutcome::SecondFactorRequired => Ok((
            StatusCode::FORBIDDEN,
            Json(json!({"detail": signin::REFRESH_NEEDS_MFA, "code": "mfa_required"})),
        )
            .into_response()),
    }
}

/// `POST jwt/verify/` `{token}` → `200 {}` when the access token is still a signed-in
/// user ([`access::authenticate`]), else `401`.
pub async fn verify(
    _: RateLimited<TokenChecks>,
    State(state): State<AppState>,
    body: JsonBody,
) -> Result<Json<Value>, AppError> {
    let token = token_field(&body, "token")?;
    match access::authenticate(&state, &token).await? {
        Some(_) => Ok(Json(json!({}))),
        None => Err(AppError::Unauthenticated(Unauthenticated::TokenNotValid)),
    }
}

/// `POST jwt/revoke/` `{refresh}` → `204`: the token's whole family (the sign-in) ends.
/// Unknown tokens get the same answer, so the endpoint tells nothing.
pub async fn revoke(
    _: RateLimited<TokenChecks>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<StatusCode, AppError> {
    let token = token_field(&body, "refresh")?;
    let tokens = SignOut {
        refresh_token: Some(&token),
        access_token: None,
    };
    signout::sign_out(&state, tokens, &meta.event_context(), Some("jwt/revoke")).await?;
    Ok(StatusCode::NO_CONTENT)
}
