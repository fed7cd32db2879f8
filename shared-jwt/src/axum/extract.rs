//! The extractors that *require* what [`crate::AuthLayer`] resolved.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use ::axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::HeaderMap;
use http::request::Parts;

use super::{AuthRejection, ResolvedAuth, TokenSource};
use crate::claims::{Claims, Role};
use crate::csrf::{CSRF_HEADER, Csrf};

/// The signed-in user: a verified token, of the Host's tenant (with `TENANT_FROM_HOST`), and
/// for unsafe cookie-authenticated requests, one that passed the Origin check.
///
/// Rejections: no or invalid token → [`AuthRejection::Unauthenticated`] (303 to sign-in for
/// pages, 401 JSON for APIs); another tenant → [`AuthRejection::WrongTenant`]; a cross-origin
/// unsafe request → [`AuthRejection::Csrf`]. `Option<CurrentUser>` is `None` in all these
/// cases instead.
///
/// The claims are shared (an `Arc`) with the layer's outcome and the verifier's cache: taking
/// the user copies nothing. Read them through `Deref` (`user.name`) or [`CurrentUser::claims`].
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Arc<Claims>);

impl CurrentUser {
    /// `Ok` when the user's role is `min` or higher.
    ///
    /// # Errors
    /// [`AuthRejection::Forbidden`] (403) otherwise.
    pub fn require_role(&self, min: Role) -> Result<(), AuthRejection> {
        if self.0.user_role.at_least(min) {
            Ok(())
        } else {
            Err(AuthRejection::Forbidden)
        }
    }

    /// The claims.
    pub fn claims(&self) -> &Claims {
        &self.0
    }
}

/// Wraps claims in hand: for tests, and tools that verified a token themselves with
/// [`crate::Verifier::verify`] (which already returns them shared: use `CurrentUser(claims)`).
impl From<Claims> for CurrentUser {
    fn from(claims: Claims) -> Self {
        CurrentUser(Arc::new(claims))
    }
}

impl Deref for CurrentUser {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

fn resolved(parts: &Parts) -> Option<&Arc<ResolvedAuth>> {
    let found = parts.extensions.get::<Arc<ResolvedAuth>>();
    if found.is_none() {
        tracing::error!("CurrentUser used on a route without shared_jwt::AuthLayer; refusing");
    }
    found
}

fn decide(r: &ResolvedAuth) -> Result<&Arc<Claims>, AuthRejection> {
    let claims = r
        .outcome
        .as_ref()
        .map_err(|_| AuthRejection::Unauthenticated {
            login_url: r.login_url(),
        })?;
    if r.ctx.tenant_host_domain.is_some()
        && r.host_tenant.as_deref() != Some(claims.tenant_slug.as_str())
    {
        return Err(AuthRejection::WrongTenant);
    }
    if r.origin_check.is_err() {
        return Err(AuthRejection::Csrf);
    }
    Ok(claims)
}

/// Fails closed without the layer: a 401 with no login URL (and an error in the log).
fn missing_layer() -> AuthRejection {
    AuthRejection::Unauthenticated {
        login_url: String::new(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let r = resolved(parts).ok_or_else(missing_layer)?;
        decide(r).map(|c| CurrentUser(Arc::clone(c)))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(resolved(parts)
            .and_then(|r| decide(r).ok())
            .map(|c| CurrentUser(Arc::clone(c))))
    }
}

/// A minimum role for [`RequireRole`].
pub trait MinRole: Send + Sync + 'static {
    /// The lowest role let through.
    const ROLE: Role;
}

/// [`RequireRole`] marker: member, admin or owner.
#[derive(Debug)]
pub struct AtLeastMember;
/// [`RequireRole`] marker: admin or owner.
#[derive(Debug)]
pub struct AtLeastAdmin;
/// [`RequireRole`] marker: owner only.
#[derive(Debug)]
pub struct AtLeastOwner;

impl MinRole for AtLeastMember {
    const ROLE: Role = Role::Member;
}
impl MinRole for AtLeastAdmin {
    const ROLE: Role = Role::Admin;
}
impl MinRole for AtLeastOwner {
    const ROLE: Role = Role::Owner;
}

/// A [`CurrentUser`] whose role is at least `R::ROLE`; a lower role answers `403`.
///
/// ```
/// use shared_jwt::{AtLeastAdmin, RequireRole};
///
/// async fn manage(user: RequireRole<AtLeastAdmin>) -> String {
///     format!("{} ({})", user.name, user.user_role)
/// }
/// ```
#[derive(Debug)]
pub struct RequireRole<R: MinRole>(pub CurrentUser, pub PhantomData<R>);

impl<R: MinRole> Deref for RequireRole<R> {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0.0
    }
}

impl<S: Send + Sync, R: MinRole> FromRequestParts<S> for RequireRole<R> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        user.require_role(R::ROLE)?;
        Ok(RequireRole(user, PhantomData))
    }
}

/// The signed-in user (as [`CurrentUser`], with the same rejections) with the CSRF form token
/// of their session, and its check.
///
/// Put [`SessionCsrf::token`] in a hidden `csrf_token` field of every form, and call
/// [`SessionCsrf::verify`] with the submitted value in the POST handler (or
/// [`SessionCsrf::verify_header`] for script writes sending [`CSRF_HEADER`]).
/// Bearer-authenticated requests pass both checks whatever the value: a browser never sends
/// that header by itself.
#[derive(Clone, Debug)]
pub struct SessionCsrf {
    user: CurrentUser,
    csrf: Csrf,
    source: Option<TokenSource>,
}

impl SessionCsrf {
    /// The signed-in user.
    pub fn user(&self) -> &CurrentUser {
        &self.user
    }

    /// The token to embed in forms (and to hand to scripts, for [`CSRF_HEADER`]).
    pub fn token(&self) -> String {
        self.csrf.token_for(&self.user.0)
    }

    /// Whether the token came in an `Authorization: Bearer` header (not CSRF-prone).
    pub fn via_bearer(&self) -> bool {
        self.source == Some(TokenSource::Bearer)
    }

    /// Checks a submitted token (constant time).
    ///
    /// # Errors
    /// [`AuthRejection::Csrf`] (403) when it is missing or wrong on a cookie request.
    pub fn verify(&self, submitted: Option<&str>) -> Result<(), AuthRejection> {
        if self.via_bearer() {
            return Ok(());
        }
        match submitted {
            Some(token) if self.csrf.verify(&self.user.0, token) => Ok(()),
            _ => Err(AuthRejection::Csrf),
        }
    }

    /// Checks the token a script sent in the [`CSRF_HEADER`] header.
    ///
    /// # Errors
    /// As [`SessionCsrf::verify`].
    pub fn verify_header(&self, headers: &HeaderMap) -> Result<(), AuthRejection> {
        self.verify(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SessionCsrf {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let r = resolved(parts).ok_or_else(missing_layer)?;
        let user = CurrentUser(Arc::clone(decide(r)?));
        Ok(SessionCsrf {
            user,
            csrf: r.ctx.csrf.clone(),
            source: r.source,
        })
    }
}
