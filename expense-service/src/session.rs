//! [`Ctx`]: the request's verified identity, its tenant scope, and the CSRF checks.
//!
//! A thin wrapper over shared-jwt's [`SessionCsrf`] extractor (which already refused invalid
//! tokens, a token of another tenant's host, and cross-origin unsafe cookie requests): the role
//! rule and both CSRF checks are the library's, this adds what the service's operations take —
//! the tenant scope and the actor.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use shared_jwt::{Claims, Role, SessionCsrf};

use crate::error::AppError;
use crate::repo::Actor;
use crate::tenant::TenantScope;
use crate::views::display_name;

/// The signed-in user of this request.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Their tenant: the key to every query.
    pub scope: TenantScope,
    /// Id and display name, for rows that record who did what.
    pub actor: Actor,
    session: SessionCsrf,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = SessionCsrf::from_request_parts(parts, state).await?;
        let user = session.user();
        Ok(Ctx {
            scope: TenantScope::of(user),
            actor: Actor {
                id: user.sub,
                name: display_name(user),
            },
            session,
        })
    }
}

impl Ctx {
    /// The verified claims.
    #[must_use]
    pub fn claims(&self) -> &Claims {
        self.session.user()
    }

    /// `Ok` when the user's role is at least `min`.
    ///
    /// # Errors
    /// A 403 otherwise.
    pub fn require(&self, min: Role) -> Result<(), AppError> {
        Ok(self.session.user().require_role(min)?)
    }

    /// The session's CSRF form token.
    #[must_use]
    pub fn csrf_token(&self) -> String {
        self.session.token()
    }

    /// Checks a submitted form token (cookie requests; bearer requests are exempt).
    ///
    /// # Errors
    /// A 403 when missing or wrong.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        Ok(self.session.verify(submitted)?)
    }

    /// Checks the `X-CSRF-Token` header of an API write.
    ///
    /// # Errors
    /// A 403 when a cookie-authenticated request lacks a valid one.
    pub fn check_csrf_header(&self, headers: &HeaderMap) -> Result<(), AppError> {
        Ok(self.session.verify_header(headers)?)
    }
}
