//! The router with every layer, added here in one place. Order, outermost first:
//! request id → tracing span (with the id) → id echoed on the response → request
//! timeout (408) → the id made available to error pages → security headers → the
//! 64 KiB body limit seen by the form extractor.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Settings;
use crate::error::REQUEST_ID;
use crate::state::AppState;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Headers added to every response that does not set them itself.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    csp: HeaderValue,
}

impl SecurityHeaders {
    /// The CSP allows forms to post here and to end (via redirects) where `next` may go.
    #[must_use]
    pub fn from_settings(s: &Settings) -> Self {
        let mut form_action = vec!["'self'".to_owned()];
        let schemes: &[&str] = if s.cookie_secure {
            &["https"]
        } else {
            &["https", "http"]
        };
        match &s.cookie_domain {
            Some(domain) => {
                // `:*`: a host-source without a port matches only the default port, and
                // the redirect after POST /login may go to a sibling on another port.
                for scheme in schemes {
                    form_action.push(format!("{scheme}://{domain}:*"));
                    form_action.push(format!("{scheme}://*.{domain}:*"));
                }
            }
            None => {
                if let Some(host) = s.public_url.host_str() {
                    form_action.push(format!("{}://{host}:*", s.public_url.scheme()));
                }
            }
        }
        form_action.extend(s.allowed_redirect_origins.iter().cloned());
        let csp = format!(
            "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action {}",
            form_action.join(" ")
        );
        Self { csp: HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'")) }
    }
}

async fn security_headers(State(sh): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(sh.csp.clone());
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    // Every auth page is personal; the stylesheet and the JWKS set their own.
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

async fn request_id_scope(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    REQUEST_ID.scope(id, next.run(req)).await
}

/// The complete application.
pub fn build_router(state: AppState) -> Router {
    let security = SecurityHeaders::from_settings(&state.settings);
    let timeout: Duration = state.settings.request_timeout;
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO)))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn(request_id_scope))
        .layer(middleware::from_fn_with_state(security, security_headers))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    // Pages, the JSON API (with its CORS layer), the fallback and error negotiation.
    crate::routes::router(&state.settings)
        .with_state(state)
        .layer(layers)
}
