//! The service's error type. Handlers return `Result<_, AppError>`; the response is JSON, and
//! [`crate::app`]'s error-page middleware re-renders it as an HTML page for browser routes
//! (everything outside `/api/`), adding the request id to 500s.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde_json::json;
use shared_jwt::AuthRejection;

use crate::domain::FieldErrors;
use crate::repo::RepoError;

/// `Result` with [`AppError`].
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: no such object in the caller's tenant (another tenant's id included).
    #[error("Not found.")]
    NotFound,
    /// 403: the role or the object's owner does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 403: the CSRF form token or header is missing or wrong.
    #[error("The form expired or did not come from this site. Reload the page and try again.")]
    Csrf,
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
    /// Sign-in required or forbidden, answered the way shared-jwt answers it (303 / 401 / 403).
    #[error("authentication")]
    Auth(AuthRejection),
    /// 500: logged once here with its cause; the client sees a generic message and request id.
    #[error("Something went wrong on our side.")]
    Internal(#[source] anyhow::Error),
}

/// What the error-page middleware needs to render an error as HTML: attached to the response.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    /// The status.
    pub status: StatusCode,
    /// The public message.
    pub message: String,
}

impl AppError {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) | Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Auth(_) => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
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

impl From<AuthRejection> for AppError {
    fn from(e: AuthRejection) -> Self {
        Self::Auth(e)
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Auth(rejection) = self {
            return rejection.into_response();
        }
        let message = self.to_string();
        let mut response = match self {
            Self::Validation(fields) => (status, Json(fields)).into_response(),
            Self::Internal(cause) => {
                // The one place a 500's cause is logged (inside the request's span, which
                // carries the request id).
                tracing::error!(error = format!("{cause:#}"), "request failed");
                (status, Json(json!({ "detail": message }))).into_response()
            }
            _ => (status, Json(json!({ "detail": message }))).into_response(),
        };
        response
            .extensions_mut()
            .insert(ErrorInfo { status, message });
        response
    }
}
