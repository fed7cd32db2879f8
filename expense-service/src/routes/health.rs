//! Liveness, readiness and the shared stylesheet: service-kit's routes.

use axum::Router;

use crate::app::AppState;

/// `/healthz`, `/readyz`, `/static/app.css`.
pub fn router() -> Router<AppState> {
    service_kit::routes::router()
}
