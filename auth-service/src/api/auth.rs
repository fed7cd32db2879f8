//! Who is calling the JSON API: `Authorization: Bearer <access token>`, or the access
//! cookie, checked by the one rule [`access::authenticate`] (verifies, sign-in not
//! ended, user and tenant active).
//!
//! CSRF: a cookie travels with every request the browser makes, so a cookie-
//! authenticated unsafe request (POST, PATCH, …) must also (1) pass
//! [`shared_jwt::check_origin`] — `Sec-Fetch-Site: cross-site` refused, an `Origin`
//! accepted only when it is this service's or listed in `CORS_ALLOWED_ORIGINS`
//! ([`OriginPolicy`]: origins, never every subdomain of `COOKIE_DOMAIN`) — and
//! (2) carry `Content-Type: application/json`, which a cross-site HTML form cannot send
//! and cross-site `fetch` can send only after a CORS preflight that we answer for
//! allowed origins only. Bearer requests need neither: a browser never adds that header
//! on its own.

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{HeaderMap, header};
use shared_jwt::Role;

use super::body::is_json;
use super::cors::OriginPolicy;
use crate::accounts::access::{self, SignedIn};
use crate::accounts::admin::NO_PERMISSION;
use crate::error::{AppError, Unauthenticated};
use crate::state::AppState;

/// The authenticated caller of an API route.
#[derive(Debug, Clone)]
pub struct ApiUser(pub SignedIn);

impl std::ops::Deref for ApiUser {
    type Target = SignedIn;

    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl ApiUser {
    /// The stored role (the token's may be up to one access TTL old).
    #[must_use]
    pub fn role(&self) -> Role {
        self.user.claim_role()
    }

    /// `403` unless the caller's role is at least `min`.
    ///
    /// # Errors
    /// [`AppError::Forbidden`].
    pub fn require(&self, min: Role) -> Result<(), AppError> {
        if self.role().at_least(min) {
            Ok(())
        } else {
            Err(AppError::Forbidden(NO_PERMISSION.into()))
        }
    }
}

/// The bearer token, `Ok(None)` without an `Authorization` header, `Err` for another scheme.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthenticated(Unauthenticated::TokenNotValid))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(AppError::Unauthenticated(Unauthenticated::NotAuthenticated)),
    }
}

/// The CSRF rule of the module docs, for cookie-authenticated unsafe requests.
fn check_csrf(state: &AppState, parts: &Parts) -> Result<(), AppError> {
    if !shared_jwt::is_unsafe_method(&parts.method) {
        return Ok(());
    }
    let policy = OriginPolicy::from_settings(&state.settings);
    if shared_jwt::check_origin(&parts.headers, policy.own_origin(), policy.listed()).is_err() {
        return Err(AppError::Csrf(
            "CSRF Failed: this origin may not use the session cookie.",
        ));
    }
    if !is_json(&parts.headers) {
        return Err(AppError::Csrf(
            "CSRF Failed: a cookie-authenticated request must send Content-Type: application/json.",
        ));
    }
    Ok(())
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (token, via_cookie) = match bearer(&parts.headers)? {
            Some(t) => (t, false),
            None => match state.cookies.read_access(&parts.headers) {
                Some(t) => (t, true),
                None => return Err(AppError::Unauthenticated(Unauthenticated::NotAuthenticated)),
            },
        };
        let me = access::authenticate(state, &token)
            .await?
            .ok_or(AppError::Unauthenticated(Unauthenticated::TokenNotValid))?;
        if via_cookie {
            check_csrf(state, parts)?;
        }
        Ok(Self(me))
    }
}
