//! Every route of the service in one router: the pages ([`crate::web`]), the JSON API
//! ([`crate::api`], with its CORS layer) and the operational routes ([`meta`]), the
//! not-found fallback, and the error negotiation ([`crate::error::negotiate`]) over all
//! of them. `app.rs` adds the service-wide layers around it.

pub mod meta;

use axum::{Router, middleware};

use crate::config::Settings;
use crate::error::{AppError, negotiate};
use crate::state::AppState;

async fn not_found() -> AppError {
    AppError::NotFound
}

/// The service's routes.
pub fn router(settings: &Settings) -> Router<AppState> {
    crate::web::router()
        .merge(crate::api::router(settings))
        .merge(meta::router())
        .merge(if settings.metrics_bind.is_none() {
            service_kit::metrics::router()
        } else {
            Router::new()
        })
        .fallback(not_found)
        .layer(middleware::from_fn(negotiate))
}
