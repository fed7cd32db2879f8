//! axum integration, "resolve, then require": [`AuthLayer`] reads and verifies the token once
//! per request and records the outcome without ever failing the request; the extractors
//! ([`CurrentUser`], `Option<CurrentUser>`, [`RequireRole`], [`SessionCsrf`]) then decide.
//!
//! What the layer records, per request:
//! - the verified claims, or why there are none (no token / a [`crate::VerifyError`]);
//! - whether the token came from the access cookie or `Authorization: Bearer` (the bearer
//!   header wins when both are present);
//! - with `TENANT_FROM_HOST`, whether the Host's first label is the token's tenant;
//! - for unsafe methods authenticated by the cookie, the [`crate::check_origin`] verdict;
//! - where to send the user to sign in (built from `PUBLIC_URL`, never from the client's Host,
//!   except for a valid `{slug}.COOKIE_DOMAIN` host with `TENANT_FROM_HOST`).
//!
//! The layer also turns the `403` pages of [`AuthRejection`] into JSON for API requests, so
//! handlers can return `AuthRejection::Forbidden` without knowing what the client wants.

mod context;
mod extract;
mod rejection;

pub use context::AuthContext;
pub use extract::{
    AtLeastAdmin, AtLeastMember, AtLeastOwner, CurrentUser, MinRole, RequireRole, SessionCsrf,
};
pub use rejection::AuthRejection;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::axum::body::Body;
use ::axum::extract::OriginalUri;
use ::axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, AUTHORIZATION, HOST};
use http::{HeaderMap, Request};
use tower::{Layer, Service};

use crate::claims::Claims;
use crate::cookies::cookie_values;
use crate::csrf::{CsrfError, check_origin, is_unsafe_method};
use crate::verifier::VerifyError;

/// Where the request's token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The access cookie (CSRF checks apply).
    Cookie,
    /// `Authorization: Bearer` (not CSRF-prone).
    Bearer,
}

/// What [`AuthLayer`] found, stored in the request extensions (as `Arc<ResolvedAuth>`).
#[derive(Debug)]
pub struct ResolvedAuth {
    /// The verified claims, `Err(None)` when no token was sent, `Err(Some(e))` when it failed.
    pub outcome: Result<Claims, Option<VerifyError>>,
    /// Where the token came from, when there was one.
    pub source: Option<TokenSource>,
    /// With `TENANT_FROM_HOST`: the slug named by the Host (`None` if the Host is not a valid
    /// `{slug}.COOKIE_DOMAIN`). Always `None` without it.
    pub host_tenant: Option<String>,
    /// The verdict of the Origin check on an unsafe cookie-authenticated request.
    pub origin_check: Result<(), CsrfError>,
    /// Whether a failure should answer with a redirect (browser navigation) rather than JSON.
    pub wants_html: bool,
    /// The request's path and query (for the login URL, built only when needed).
    path_and_query: Option<http::uri::PathAndQuery>,
    pub(crate) ctx: Arc<AuthContext>,
}

impl ResolvedAuth {
    /// The claims, if the token verified (tenant and CSRF checks not applied).
    pub fn claims(&self) -> Option<&Claims> {
        self.outcome.as_ref().ok()
    }

    /// The context the layer was built with.
    pub fn context(&self) -> &AuthContext {
        &self.ctx
    }

    /// `{AUTH_URL}/login?next=<this request's absolute URL>`.
    pub fn login_url(&self) -> String {
        let pq = self.path_and_query.as_ref().map_or("/", |pq| pq.as_str());
        self.ctx.login_url_for(self.host_tenant.as_deref(), pq)
    }
}

/// Whether a client wants HTML (redirects) rather than JSON (401 bodies): `/api/…`,
/// `Accept: application/json`, and non-navigation fetches (`Sec-Fetch-Mode` present and not
/// `navigate`) want JSON.
pub fn wants_html(path: &str, headers: &HeaderMap) -> bool {
    if path == "/api" || path.starts_with("/api/") {
        return false;
    }
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    let json = b"application/json";
    if header(ACCEPT).is_some_and(|a| {
        a.as_bytes()
            .windows(json.len())
            .any(|w| w.eq_ignore_ascii_case(json))
    }) {
        return false;
    }
    header(http::HeaderName::from_static("sec-fetch-mode"))
        .is_none_or(|m| m.eq_ignore_ascii_case("navigate"))
}

/// The Tower layer that resolves authentication (see the module docs). Never fails a request.
#[derive(Clone)]
pub struct AuthLayer {
    ctx: Arc<AuthContext>,
}

impl AuthLayer {
    /// A layer verifying with `ctx`.
    pub fn new(ctx: AuthContext) -> Self {
        Self { ctx: Arc::new(ctx) }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            ctx: self.ctx.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    ctx: Arc<AuthContext>,
}

impl<S> Service<Request<Body>> for AuthService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let ctx = self.ctx.clone();
        Box::pin(async move {
            // `Body` is not `Sync`: hold only the parts across the verification's await.
            let (mut parts, body) = req.into_parts();
            let resolved = Arc::new(resolve(&ctx, &parts).await);
            let wants_html = resolved.wants_html;
            parts.extensions.insert(resolved);
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(rejection::adapt_forbidden(response, wants_html))
        })
    }
}

/// The bearer token of an `Authorization: Bearer …` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

async fn resolve(ctx: &Arc<AuthContext>, req: &http::request::Parts) -> ResolvedAuth {
    let headers = &req.headers;
    let uri = req
        .extensions
        .get::<OriginalUri>()
        .map_or(&req.uri, |o| &o.0);
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.host());
    let host_tenant = ctx.tenant_from_host(host);

    let (outcome, source) = if let Some(token) = bearer(headers) {
        (
            ctx.verifier.verify_or_refresh(token).await.map_err(Some),
            Some(TokenSource::Bearer),
        )
    } else {
        let mut outcome = Err(None);
        let mut source = None;
        for token in cookie_values(headers, ctx.cookies.access_name()) {
            source = Some(TokenSource::Cookie);
            outcome = ctx.verifier.verify_or_refresh(token).await.map_err(Some);
            if outcome.is_ok() {
                break;
            }
        }
        (outcome, source)
    };
    if let Err(Some(e)) = &outcome {
        tracing::debug!(reason = e.kind(), "access token rejected");
    }

    let origin_check = if source == Some(TokenSource::Cookie) && is_unsafe_method(&req.method) {
        let own = ctx.origin_for(host_tenant.as_deref());
        check_origin(headers, &own, &[])
    } else {
        Ok(())
    };
    let wants_html = wants_html(uri.path(), headers);
    ResolvedAuth {
        outcome,
        source,
        host_tenant,
        origin_check,
        wants_html,
        path_and_query: uri.path_and_query().cloned(),
        ctx: ctx.clone(),
    }
}

impl IntoResponse for CsrfError {
    fn into_response(self) -> Response {
        AuthRejection::Forbidden.into_response()
    }
}
