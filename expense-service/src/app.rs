//! Assembly: the shared state, the routes, and every layer in one place (service-kit's
//! stack outside, this service's error pages and shared-jwt's layer inside).

use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{FromRef, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Json, Response};
use sea_orm::DatabaseConnection;
use serde_json::json;
use service_kit::Stack;
use shared_jwt::{AuthContext, AuthLayer};

use crate::db::Db;
use crate::error::{AppError, ErrorInfo};
use crate::routes;
use crate::views::ErrorPage;

/// Shared by every handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database (tenant transactions only).
    pub db: Db,
    /// Verifier, cookie settings, URLs and CSRF key (shared-jwt).
    pub auth: AuthContext,
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

/// The whole application.
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let auth_layer = AuthLayer::new(state.auth.clone());
    let router = Router::new()
        .merge(routes::pages::router())
        .merge(routes::forms::router())
        .merge(routes::api::router())
        .merge(routes::health::router())
        .fallback(|| async { AppError::NotFound })
        .with_state(state)
        // Innermost, inside service-kit's stack (request id, span, security headers,
        // timeout, body limit): the error pages (which show the request id), then
        // shared-jwt's layer, which resolves the token once and never fails a request.
        .layer(auth_layer)
        .layer(middleware::from_fn(error_pages));
    Stack::new(CSP, request_timeout).apply(router)
}

/// Turns an [`AppError`] response into an HTML page outside `/api/`, and adds the request id
/// to 500s.
async fn error_pages(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let request_id = service_kit::current_request_id();
    let mut response = next.run(req).await;
    let Some(info) = response.extensions_mut().remove::<ErrorInfo>() else {
        return response;
    };
    let request_id = (info.status == StatusCode::INTERNAL_SERVER_ERROR)
        .then_some(request_id)
        .flatten();
    if is_api {
        return match request_id {
            Some(id) => (
                info.status,
                Json(json!({ "detail": info.message, "request_id": id })),
            )
                .into_response(),
            None => response,
        };
    }
    let page = ErrorPage {
        status: info.status.as_u16(),
        title: info.status.canonical_reason().unwrap_or("Error").to_owned(),
        message: info.message,
        request_id,
    };
    match page.render() {
        Ok(html) => (info.status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            response
        }
    }
}
