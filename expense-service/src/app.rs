//! Assembly: the shared state, the routes, and every layer in one place (service-kit's
//! stack outside, with a panic answered by this service's 500; this service's error pages
//! and shared-jwt's layer inside).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware;
use sea_orm::DatabaseConnection;
use service_kit::{Stack, Stacked};
use shared_jwt::{AuthContext, AuthLayer};

use crate::db::Db;
use crate::error::{self, AppError};
use crate::routes;
use crate::service::ListCache;

/// Shared by every handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database (tenant transactions only).
    pub db: Db,
    /// Recently read list pages (`LIST_CACHE_ENTRIES`).
    pub lists: Arc<ListCache>,
    /// Verifier, cookie settings, URLs and CSRF key (shared-jwt). Behind an `Arc` because axum
    /// clones the state for every request: a bare `AuthContext` is several allocations.
    pub auth: Arc<AuthContext>,
}

/// service-kit's health routes ask the state for the database.
impl FromRef<AppState> for DatabaseConnection {
    fn from_ref(state: &AppState) -> Self {
        state.db.pool().clone()
    }
}

/// Content-Security-Policy of every response: nothing but this origin, no framing, forms
/// post only here (the sign-out link to auth-service is a plain link, not a form).
const CSP: &str = "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'";

/// The whole application; `/metrics` on it unless `METRICS_BIND` serves it elsewhere
/// (`metrics_here` false).
pub fn router(state: AppState, request_timeout: Duration, metrics_here: bool) -> Stacked {
    let auth_layer =
        AuthLayer::new(Arc::clone(&state.auth)).render_rejections_with(error::auth_rejection);
    let router = Router::new()
        .merge(routes::pages::router())
        .merge(routes::forms::router())
        .merge(routes::api::router())
        .merge(routes::health::router())
        .merge(if metrics_here {
            service_kit::metrics::router()
        } else {
            Router::new()
        })
        .fallback(|| async { AppError::NotFound });
    // Only in a build with the `bench-baseline` feature (scripts/bench), never in the normal one.
    #[cfg(feature = "bench-baseline")]
    let router = router.merge(routes::bench::router(&state));
    let router = router
        .with_state(state)
        // Innermost, inside service-kit's stack (request id, span, security headers,
        // timeout, body limit): the error negotiation (which shows the request id), then
        // shared-jwt's layer, which resolves the token once and never fails a request.
        .layer(auth_layer)
        .layer(middleware::from_fn(error::negotiate));
    stack(request_timeout).wrap(router)
}

/// service-kit's stack as this service configures it: its CSP, `REQUEST_TIMEOUT`, and a panic
/// answered like any 500 ([`error::panic_response`]).
#[must_use]
pub fn stack(request_timeout: Duration) -> Stack {
    Stack::new(CSP, request_timeout).on_panic(error::panic_response)
}
