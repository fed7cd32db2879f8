//! Who is calling the JSON API: `Authorization: Bearer <access token>`, or the access
//! cookie. The token is checked with shared-jwt's verifier on this service's own keys,
//! its session (`sid`) must not be signed out, and its user and tenant must be active.
//!
//! CSRF: a cookie travels with every request the browser makes, so a cookie-
//! authenticated unsafe request (POST, PATCH, …) must also (1) pass
//! [`shared_jwt::check_origin`] — `Sec-Fetch-Site: cross-site` refused, an `Origin`
//! accepted only when it is this service or an origin [`OriginPolicy`] allows — and
//! (2) carry `Content-Type: application/json`, which a cross-site HTML form cannot send
//! and cross-site `fetch` can send only after a CORS preflight that we answer for
//! allowed origins only. Bearer requests need neither: a browser never adds that header
//! on its own.

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{HeaderMap, header};
use sea_orm::EntityTrait;
use shared_jwt::{Claims, Role};

use super::body::is_json;
use super::cors::OriginPolicy;
use super::error::ApiError;
use crate::entities::{tenant, user};
use crate::state::AppState;
use crate::user_admin::NO_PERMISSION;

/// The authenticated caller of an API route.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// The account, as stored now.
    pub user: user::Model,
    /// Its tenant.
    pub tenant: tenant::Model,
    /// The verified access-token claims.
    pub claims: Claims,
}

impl ApiUser {
    /// The stored role (the token's may be up to one access TTL old).
    #[must_use]
    pub fn role(&self) -> Role {
        self.user.role.parse().unwrap_or(Role::Viewer)
    }

    /// `403` unless the caller's role is at least `min`.
    ///
    /// # Errors
    /// [`ApiError`] 403.
    pub fn require(&self, min: Role) -> Result<(), ApiError> {
        if self.role().at_least(min) {
            Ok(())
        } else {
            Err(ApiError::forbidden(NO_PERMISSION))
        }
    }
}

/// The bearer token, `Ok(None)` without an `Authorization` header, `Err` for another scheme.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::token_not_valid())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::not_authenticated()),
    }
}

/// The CSRF rule of the module docs, for cookie-authenticated unsafe requests.
fn check_csrf(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    if !shared_jwt::is_unsafe_method(&parts.method) {
        return Ok(());
    }
    let policy = OriginPolicy::from_settings(&state.settings);
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let allowed = policy.allowed_for(origin);
    if shared_jwt::check_origin(&parts.headers, policy.own_origin(), &allowed).is_err() {
        return Err(ApiError::forbidden(
            "CSRF Failed: this origin may not use the session cookie.",
        ));
    }
    if !is_json(&parts.headers) {
        return Err(ApiError::forbidden(
            "CSRF Failed: a cookie-authenticated request must send Content-Type: application/json.",
        ));
    }
    Ok(())
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (token, via_cookie) = match bearer(&parts.headers)? {
            Some(t) => (t, false),
            None => match state.cookies.read_access(&parts.headers) {
                Some(t) => (t, true),
                None => return Err(ApiError::not_authenticated()),
            },
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
        let user = user::Entity::find_by_id(claims.user_id)
            .one(&state.db)
            .await?;
        let tenant = tenant::Entity::find_by_id(claims.tenant_id)
            .one(&state.db)
            .await?;
        let (Some(user), Some(tenant)) = (user, tenant) else {
            return Err(ApiError::token_not_valid());
        };
        if !(user.is_active && tenant.is_active && user.tenant_id == tenant.id) {
            return Err(ApiError::token_not_valid());
        }
        if via_cookie {
            check_csrf(state, parts)?;
        }
        Ok(Self {
            user,
            tenant,
            claims,
        })
    }
}
