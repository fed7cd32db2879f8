//! [`Ctx`]: the request's verified identity, its tenant scope, and the CSRF checks.
//!
//! Built from shared-jwt's [`CurrentUser`] (which already refused invalid tokens, a token of
//! another tenant's host, and cross-origin unsafe cookie requests), so holding a `Ctx` means
//! the claims were verified.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use shared_jwt::{Claims, Csrf, CurrentUser, ResolvedAuth, Role, TokenSource};

use crate::error::AppError;
use crate::repo::Actor;
use crate::tenant::TenantScope;
use crate::views::display_name;

/// Header carrying the CSRF token on cookie-authenticated API writes (the token comes from
/// `GET /api/v1/me`).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user of this request.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The verified claims.
    pub claims: Claims,
    /// Their tenant: the key to every query.
    pub scope: TenantScope,
    /// Id and display name, for rows that record who did what.
    pub actor: Actor,
    source: Option<TokenSource>,
    csrf: Csrf,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        // CurrentUser succeeded, so the layer's record is there.
        let resolved = parts
            .extensions
            .get::<Arc<ResolvedAuth>>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AuthLayer record missing")))?;
        let scope = TenantScope::of(&user);
        let actor = Actor {
            id: user.0.sub,
            name: display_name(&user.0),
        };
        Ok(Ctx {
            claims: user.0,
            scope,
            actor,
            source: resolved.source,
            csrf: resolved.context().csrf.clone(),
        })
    }
}

impl Ctx {
    /// `Ok` when the user's role is at least `min`.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] (403) otherwise.
    pub fn require(&self, min: Role) -> Result<(), AppError> {
        if self.claims.user_role.at_least(min) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "Your role ({}) does not allow this; it needs {} or above.",
                self.claims.user_role.as_str(),
                min.as_str()
            )))
        }
    }

    /// The session's CSRF form token.
    #[must_use]
    pub fn csrf_token(&self) -> String {
        self.csrf.token_for(&self.claims)
    }

    /// Whether the token came in an `Authorization: Bearer` header (not CSRF-prone).
    #[must_use]
    pub fn via_bearer(&self) -> bool {
        self.source == Some(TokenSource::Bearer)
    }

    /// Checks a submitted form token (cookie requests; bearer requests are exempt).
    ///
    /// # Errors
    /// [`AppError::Csrf`] (403) when missing or wrong.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        if self.via_bearer() {
            return Ok(());
        }
        match submitted {
            Some(token) if self.csrf.verify(&self.claims, token) => Ok(()),
            _ => Err(AppError::Csrf),
        }
    }

    /// Checks the `X-CSRF-Token` header of an API write.
    ///
    /// # Errors
    /// [`AppError::Csrf`] (403) when a cookie-authenticated request lacks a valid one.
    pub fn check_csrf_header(&self, headers: &HeaderMap) -> Result<(), AppError> {
        self.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }
}
