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

async fn jwks(State(state): State<AppState>) -> Response {
    let mut r = axum::Json(state.keys.jwks()).into_response();
    // Verifiers refetch on an unknown kid; a short cache keeps rotation quick.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}
