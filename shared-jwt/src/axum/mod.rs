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
//! The layer also answers every [`AuthRejection`] (from the extractors, or returned by a
//! handler) the way the request wants it ([`wants_html`]), with the host's renderer when one is
//! installed ([`AuthLayer::render_rejections_with`]), so handlers never need to know what the
//! client wants and a service's 401/403 answers look like the rest of its pages.

mod context;
mod extract;
mod rejection;

pub use context::AuthContext;
pub use extract::{
    AtLeastAdmin, AtLeastMember, AtLeastOwner, CurrentUser, MinRole, RequireRole, SessionCsrf,
};
pub use rejection::{
    AuthRejection, CSRF_DETAIL, FORBIDDEN_DETAIL, UNAUTHENTICATED_DETAIL, WRONG_TENANT_DETAIL,
};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::axum::body::Body;
use ::axum::extract::OriginalUri;
use ::axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, AUTHORIZATION, HOST};
use http::{HeaderMap, Request};
use rejection::Rejected;
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
    /// The verified claims (shared with the verifier's cache), `Err(None)` when no token was
    /// sent, `Err(Some(e))` when it failed.
    pub outcome: Result<Arc<Claims>, Option<VerifyError>>,
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
        self.outcome.as_deref().ok()
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

/// The one HTML-or-JSON rule: whether a client wants HTML (pages, redirects to sign in) rather
/// than JSON (`{"detail"}` bodies, 401s). `/api` and `/api/…`, `Accept: application/json`, and
/// non-navigation fetches (`Sec-Fetch-Mode` present and not `navigate`) want JSON; everything
/// else (browser navigation, form posts, clients that say nothing) wants HTML.
///
/// [`AuthLayer`] answers rejections by it; services use it for their own error pages too.
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

/// A host's rendering of [`AuthRejection`]s: given the rejection and whether the client wants
/// HTML ([`wants_html`]), the response.
pub type RenderRejection = dyn Fn(AuthRejection, bool) -> Response + Send + Sync;

/// The Tower layer that resolves authentication (see the module docs). Never fails a request.
#[derive(Clone)]
pub struct AuthLayer {
    ctx: Arc<AuthContext>,
    render: Option<Arc<RenderRejection>>,
}

impl AuthLayer {
    /// A layer verifying with `ctx` (an [`AuthContext`], or an `Arc` of the one the app state
    /// shares), answering rejections with [`AuthRejection::default_response`].
    pub fn new(ctx: impl Into<Arc<AuthContext>>) -> Self {
        Self {
            ctx: ctx.into(),
            render: None,
        }
    }

    /// Answers rejections with `render` instead: a service's own error page for 403s, its own
    /// JSON shape… `render` gets the rejection and whether the client wants HTML. Keep
    /// [`AuthRejection::default_response`] for [`AuthRejection::Unauthenticated`] unless you
    /// mean to change the contract's `303` / `401 {"detail", "login_url"}`.
    ///
    /// ```
    /// use axum::response::{Html, IntoResponse};
    /// use shared_jwt::{AuthContext, AuthLayer, AuthRejection};
    ///
    /// fn layer(ctx: AuthContext) -> AuthLayer {
    ///     AuthLayer::new(ctx).render_rejections_with(|rejection: AuthRejection, wants_html| {
    ///         match rejection {
    ///             AuthRejection::Unauthenticated { .. } => rejection.default_response(wants_html),
    ///             _ if wants_html => {
    ///                 let page = format!("<h1>Sorry</h1><p>{}</p>", rejection.detail());
    ///                 (rejection.status(), Html(page)).into_response()
    ///             }
    ///             _ => rejection.default_response(false),
    ///         }
    ///     })
    /// }
    /// ```
    #[must_use]
    pub fn render_rejections_with(
        mut self,
        render: impl Fn(AuthRejection, bool) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.render = Some(Arc::new(render));
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            ctx: self.ctx.clone(),
            render: self.render.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    ctx: Arc<AuthContext>,
    render: Option<Arc<RenderRejection>>,
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
        let render = self.render.clone();
        Box::pin(async move {
            // `Body` is not `Sync`: hold only the parts across the verification's await.
            let (mut parts, body) = req.into_parts();
            let resolved = Arc::new(resolve(&ctx, &parts).await);
            let wants_html = resolved.wants_html;
            parts.extensions.insert(resolved);
            let mut response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(match response.extensions_mut().remove::<Rejected>() {
                Some(Rejected(rejection)) => match &render {
                    Some(render) => render(rejection, wants_html),
                    None => rejection.default_response(wants_html),
                },
                None => response,
            })
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
        AuthRejection::Csrf.into_response()
    }
}
