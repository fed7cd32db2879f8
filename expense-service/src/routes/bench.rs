//! Bench-only (feature `bench-baseline`, never in the normal build): the baseline of issue 13's
//! "within 10 % of the same handler without authentication".
//!
//! `GET /api/v1/bench/me-without-auth` answers exactly what `GET /api/v1/me` answers for one
//! fixed set of claims — the same `me_response` code: the claims serialized with the session's
//! CSRF token, HMAC included — but takes them from memory instead of the request's cookie. The
//! claims are those of `BENCH_BASELINE_TOKEN`, verified once at start-up, so both routes send
//! the same bytes; `scripts/bench` sends both the same `Cookie` header (under another cookie
//! name for the baseline, so that `AuthLayer` finds no token, as on `/healthz`). The difference
//! between the two is what authenticating a request costs: reading the cookie, the verified-token
//! cache, and the extractors. Without the variable, or when its token does not verify, the
//! route is not added (an error is logged) and the bench stops.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use super::api::me_response;
use crate::app::AppState;

/// The variable holding the access token whose claims the baseline serves.
pub const TOKEN_VAR: &str = "BENCH_BASELINE_TOKEN";

/// The baseline route, when [`TOKEN_VAR`] holds a token that verifies now.
pub fn router(state: &AppState) -> Router<AppState> {
    let Ok(token) = std::env::var(TOKEN_VAR) else {
        tracing::error!("bench-baseline build without {TOKEN_VAR}: no baseline route");
        return Router::new();
    };
    let claims = match state.auth.verifier.verify(token.trim()) {
        Ok(claims) => claims,
        Err(e) => {
            tracing::error!(
                reason = e.kind(),
                "{TOKEN_VAR} does not verify: no baseline route"
            );
            return Router::new();
        }
    };
    tracing::warn!(
        "bench-baseline build: GET /api/v1/bench/me-without-auth answers without authentication"
    );
    let csrf = state.auth.csrf.clone();
    Router::new().route(
        "/api/v1/bench/me-without-auth",
        get(move || {
            let claims = Arc::clone(&claims);
            let csrf = csrf.clone();
            async move { me_response(&claims, csrf.token_for(&claims)) }
        }),
    )
}
