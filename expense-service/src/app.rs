//! Assembly: the shared state, the routes, and every layer in one place.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use shared_jwt::{AuthContext, AuthLayer};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::db::Db;
use crate::error::{self, AppError};
use crate::routes;

/// Shared by every handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database (tenant transactions only).
    pub db: Db,
    /// Verifier, cookie settings, URLs and CSRF key (shared-jwt).
    pub auth: AuthContext,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Content-Security-Policy of every response: nothing but this origin, no framing, forms
/// post only here (the sign-out link to auth-service is a plain link, not a form).
const CSP: &str = "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'";

/// The whole application.
pub fn router(state: AppState) -> Router {
    let auth_layer =
        AuthLayer::new(state.auth.clone()).render_rejections_with(error::auth_rejection);
    Router::new()
        .merge(routes::pages::router())
        .merge(routes::forms::router())
        .merge(routes::api::router())
        .merge(routes::health::router())
        .fallback(|| async { AppError::NotFound })
        .with_state(state)
        // Bodies are small forms and JSON: 64 KiB is plenty (applies to every body extractor).
        .layer(DefaultBodyLimit::max(64 * 1024))
        // Listed outermost first (ServiceBuilder order): a request id for everything, a span
        // carrying it, security headers on every response, bounded time and body, then the
        // error pages (which need the request id) and shared-jwt's layer, which resolves the
        // token once and never fails a request.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: queries may carry filters nobody needs in logs.
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                // One line per response (status, latency) at the default `info` level.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(security_header(header::CONTENT_SECURITY_POLICY, CSP))
                .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(security_header(header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
                .layer(security_header(header::CACHE_CONTROL, "no-store"))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
                .layer(middleware::from_fn(error::negotiate))
                .layer(auth_layer),
        )
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
