//! The service's error type. Every variant documents its status; database and
//! unexpected errors become a 500 page with a request id, their cause logged once here.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::views::{ErrorPage, Reply};

/// The current request's id, when inside a request (set by service-kit's layer stack).
pub use service_kit::current_request_id;

/// Errors that end a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 500: the database failed.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// 500: anything else unexpected.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
    /// 503 with `Retry-After`: too many password hashes at once.
    #[error("busy")]
    Busy,
    /// 404: no such page.
    #[error("not found")]
    NotFound,
    /// 413: the body exceeds the 64 KiB limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 400: the request is malformed (the text is shown).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
}

/// `Result` with [`AppError`].
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<crate::password::HashError> for AppError {
    fn from(e: crate::password::HashError) -> Self {
        match e {
            crate::password::HashError::Busy => Self::Busy,
            crate::password::HashError::Internal(m) => Self::Internal(anyhow::anyhow!(m)),
        }
    }
}

impl From<crate::users::UserError> for AppError {
    fn from(e: crate::users::UserError) -> Self {
        match e {
            crate::users::UserError::Db(e) => Self::Db(e),
            crate::users::UserError::Hash(e) => e.into(),
            other => Self::Internal(anyhow::anyhow!(other.to_string())),
        }
    }
}

/// Renders an error page with this status.
#[must_use]
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    Reply::page(
        status,
        &ErrorPage {
            title: title.to_owned(),
            message: message.to_owned(),
            request_id: current_request_id(),
        },
    )
    .into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::Db(e) => {
                tracing::error!(error = %e, "database error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The service could not complete the request. Please try again; if it keeps failing, quote the request id below.",
                )
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The service could not complete the request. Please try again; if it keeps failing, quote the request id below.",
                )
            }
            Self::Busy => {
                let mut r = error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    "Too many sign-ins are being checked right now. Please try again in a moment.",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                r
            }
            Self::NotFound => error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no page at this address.",
            ),
            Self::PayloadTooLarge => error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request too large",
                "The form sent more data than this service accepts.",
            ),
            Self::BadRequest(m) => error_page(StatusCode::BAD_REQUEST, "Bad request", m),
        }
    }
}
