//! Operational routes: service-kit's `/healthz`, `/readyz` (database reachable) and
//! `/static/app.css`, plus `/.well-known/jwks.json` (public verifying keys).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};

use crate::state::AppState;

/// The operational routes.
pub fn router() -> Router<AppState> {
    service_kit::routes::router().route("/.well-known/jwks.json", get(jwks))
}

/// The published keys, read from the database for this answer (so a revocation is out of
/// the JWKS at once; concurrent requests share one read), cached by verifiers for
/// `JWKS_MAX_AGE`.
async fn jwks(State(state): State<AppState>) -> Response {
    if let Err(e) = state.keys.reload_since(std::time::Instant::now()).await {
        tracing::warn!(error = %format!("{e:#}"), "JWKS: rereading the keys failed; answering the keys in hand");
    }
    let mut r = axum::Json(state.keys.jwks()).into_response();
    let max_age = format!("public, max-age={}", state.settings.jwks_max_age.as_secs());
    if let Ok(value) = HeaderValue::from_str(&max_age) {
        r.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    r
}
