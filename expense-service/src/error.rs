//! The service's one error model. Handlers return `Result<_, AppError>`; shared-jwt's
//! rejections become an [`AppError`] too ([`auth_rejection`], installed on the `AuthLayer`).
//! Every error has one status and is answered by one rule, shared-jwt's
//! [`shared_jwt::axum::wants_html`], in [`negotiate`]: browsers get the service's error page
//! (`templates/errors/expenses.html`; a `303` to sign in when there is no valid token), API
//! clients `{"detail"}` (a field map for validation errors; `{"detail", "login_url"}` with
//! `WWW-Authenticate` for a `401`); 500s carry the request id.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::Request;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use sea_orm::DbErr;
use serde_json::json;
use shared_jwt::AuthRejection;
use shared_jwt::axum::wants_html;

use crate::domain::FieldErrors;
use crate::repo::RepoError;
use crate::views::ErrorPage;

/// `Result` with [`AppError`].
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: no such object in the caller's tenant (another tenant's id included).
    #[error("Not found.")]
    NotFound,
    /// 403: the object's owner does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 409: the object is not in a state that allows it (e.g. no longer pending).
    #[error("{0}")]
    Conflict(String),
    /// 400 `{"detail": …}`: a malformed request (bad JSON, unknown field, bad query).
    #[error("{0}")]
    BadRequest(String),
    /// 413: the body is over the limit.
    #[error("The request body is too large.")]
    TooLarge,
    /// 400 `{"field": ["message"]}`: validation failed (JSON API; forms re-render with 422).
    #[error("Some fields are invalid.")]
    Validation(FieldErrors),
    /// 401 or 403 from shared-jwt: no valid token, a role too low, another tenant's host, a
    /// failed CSRF check. Its status and message are the rejection's.
    #[error("{0}")]
    Auth(AuthRejection),
    /// 500: logged once with its cause; the client sees a generic message and request id.
    #[error("Something went wrong on our side.")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) | Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Auth(rejection) => rejection.status(),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The answer for a client that wants HTML (`wants_html`) or JSON.
    fn render(&self, wants_html: bool, request_id: Option<&str>) -> Response {
        let status = self.status();
        let request_id = request_id.filter(|_| status == StatusCode::INTERNAL_SERVER_ERROR);
        match self {
            // The contract's shape: 303 to sign in, or 401 with the login URL.
            Self::Auth(rejection @ AuthRejection::Unauthenticated { .. }) => {
                return rejection.default_response(wants_html);
            }
            Self::Validation(fields) if !wants_html => {
                return (status, Json(fields)).into_response();
            }
            _ => {}
        }
        let message = self.to_string();
        if !wants_html {
            let body = match request_id {
                Some(id) => json!({ "detail": message, "request_id": id }),
                None => json!({ "detail": message }),
            };
            return (status, Json(body)).into_response();
        }
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message,
            request_id: request_id.map(str::to_owned),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                self.render(false, request_id)
            }
        }
    }
}

/// Marks a response made by [`AppError::into_response`]: [`negotiate`] answers it for the
/// request.
#[derive(Clone, Debug)]
struct Deferred(Arc<AppError>);

/// The JSON answer (what a client gets on a route without [`negotiate`]), marked so that
/// [`negotiate`] can answer the way the request wants instead.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // The one place a 500's cause is logged (inside the request's span, which carries
            // the request id).
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let mut response = self.render(false, None);
        response.extensions_mut().insert(Deferred(Arc::new(self)));
        response
    }
}

/// Middleware: answers every [`AppError`] of the routes inside it for this request, by
/// [`wants_html`]. Sits outside shared-jwt's `AuthLayer` and inside the request-id layer.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let wants_html = wants_html(req.uri().path(), req.headers());
    let request_id = service_kit::current_request_id();
    let mut response = next.run(req).await;
    match response.extensions_mut().remove::<Deferred>() {
        Some(Deferred(error)) => error.render(wants_html, request_id.as_deref()),
        None => response,
    }
}

/// How service-kit's stack answers a request that panicked (already logged by its hook): the
/// `500` of [`AppError::Internal`], the error page or `{"detail", "request_id"}`.
#[must_use]
pub fn panic_response(request_id: &str, wants_html: bool) -> Response {
    AppError::Internal(anyhow::anyhow!("a request panicked")).render(wants_html, Some(request_id))
}

/// How the `AuthLayer` answers shared-jwt's rejections here: as an [`AppError`], so that
/// [`negotiate`] renders them like every other error of the service.
#[must_use]
pub fn auth_rejection(rejection: AuthRejection, _wants_html: bool) -> Response {
    AppError::Auth(rejection).into_response()
}

impl From<AuthRejection> for AppError {
    fn from(e: AuthRejection) -> Self {
        Self::Auth(e)
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        Self::Internal(e.into())
    }
}

impl From<RepoError> for AppError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => Self::NotFound,
            RepoError::Forbidden(m) => Self::Forbidden(m.into()),
            RepoError::Conflict(m) => Self::Conflict(m.into()),
            RepoError::Invalid(fields) => Self::Validation(fields),
            RepoError::Db(e) => e.into(),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<JsonRejection> for AppError {
    fn from(e: JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        // serde's message names the field and the problem, never a stored value.
        Self::BadRequest(format!("Invalid JSON body: {}", e.body_text()))
    }
}

impl From<FormRejection> for AppError {
    fn from(e: FormRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        Self::BadRequest(format!("Invalid form: {}", e.body_text()))
    }
}

impl From<QueryRejection> for AppError {
    fn from(e: QueryRejection) -> Self {
        Self::BadRequest(format!("Invalid query: {}", e.body_text()))
    }
}

impl From<PathRejection> for AppError {
    // A malformed id cannot name an object: the same answer as an unknown one.
    fn from(_: PathRejection) -> Self {
        Self::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::http::header::{CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};

    async fn body(res: Response) -> String {
        let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn every_error_has_one_status_shared_jwts_included() {
        let forbidden = AppError::Auth(AuthRejection::Forbidden);
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let signed_out = AppError::Auth(AuthRejection::Unauthenticated {
            login_url: "https://auth.test/login".into(),
        });
        assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AppError::Validation(FieldErrors::new()).status(), 400);
    }

    #[tokio::test]
    async fn no_token_keeps_the_contracts_redirect_and_401() {
        let e = AppError::Auth(AuthRejection::Unauthenticated {
            login_url: "https://auth.test/login?next=x".into(),
        });
        let page = e.render(true, None);
        assert_eq!(page.status(), StatusCode::SEE_OTHER);
        assert_eq!(page.headers()[LOCATION], "https://auth.test/login?next=x");
        let api = e.render(false, None);
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
        assert!(api.headers().contains_key(WWW_AUTHENTICATE));
        assert!(body(api).await.contains("\"login_url\""));
    }

    #[tokio::test]
    async fn pages_for_browsers_json_for_api_clients_request_id_on_500s_only() {
        let mut fields = FieldErrors::new();
        fields.add("amount", "Enter an amount.");
        let invalid = AppError::Validation(fields);
        assert_eq!(
            body(invalid.render(false, Some("r1"))).await,
            r#"{"amount":["Enter an amount."]}"#
        );
        let page = invalid.render(true, Some("r1"));
        assert!(
            page.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = body(page).await;
        assert!(html.contains("Some fields are invalid.") && !html.contains("r1"));

        let internal = AppError::Internal(anyhow::anyhow!("secret cause"));
        let json = body(internal.render(false, Some("r1"))).await;
        assert_eq!(
            json,
            r#"{"detail":"Something went wrong on our side.","request_id":"r1"}"#
        );
        let html = body(internal.render(true, Some("r1"))).await;
        assert!(html.contains("r1") && !html.contains("secret cause"));
    }
}
