//! JSON errors in the DRF shape: `{"detail": "…"}`, or a field map `{"field": ["…"]}`
//! with `400`. Every failure of an API route — including the ones axum would answer
//! in plain text (bad JSON, wrong content type, oversized body, unknown route, wrong
//! method) — ends here. Database and unexpected errors are logged once and answered
//! with a generic 500 and the request id.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::error::{AppError, current_request_id};
use crate::throttle::Throttled;

/// Field name → messages, in a stable order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// Adds a message to `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Whether any field has a message.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `field` has a message.
    #[must_use]
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// `Ok(())` when empty, else the 400 error.
    ///
    /// # Errors
    /// [`ApiError::Fields`] when any field has a message.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Fields(self))
        }
    }

    /// A map with one field and one message.
    #[must_use]
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut f = Self::default();
        f.add(field, message);
        f
    }
}

/// An API failure.
#[derive(Debug)]
pub enum ApiError {
    /// 400 with a field map.
    Fields(FieldErrors),
    /// Any status with `{"detail": …}`.
    Detail(StatusCode, Cow<'static, str>),
    /// 401 with `WWW-Authenticate: Bearer` and `{"detail": …, "code": …}`.
    Unauthenticated {
        /// The message.
        detail: &'static str,
        /// simplejwt's machine-readable code (`not_authenticated`, `token_not_valid`).
        code: &'static str,
    },
    /// 429 with `Retry-After`.
    Throttled(Throttled),
    /// Anything the domain layer raised.
    App(AppError),
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// `{"detail": msg}` with `status`.
    #[must_use]
    pub fn detail(status: StatusCode, msg: impl Into<Cow<'static, str>>) -> Self {
        Self::Detail(status, msg.into())
    }

    /// 404 `{"detail": "Not found."}`.
    #[must_use]
    pub fn not_found() -> Self {
        Self::detail(StatusCode::NOT_FOUND, "Not found.")
    }

    /// 403 with `msg`.
    #[must_use]
    pub fn forbidden(msg: &'static str) -> Self {
        Self::detail(StatusCode::FORBIDDEN, msg)
    }

    /// 401: no credentials.
    #[must_use]
    pub fn not_authenticated() -> Self {
        Self::Unauthenticated {
            detail: "Authentication credentials were not provided.",
            code: "not_authenticated",
        }
    }

    /// 401: a token that does not (or no longer) work.
    #[must_use]
    pub fn token_not_valid() -> Self {
        Self::Unauthenticated {
            detail: "Token is invalid or expired",
            code: "token_not_valid",
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::App(AppError::Db(e))
    }
}

impl From<crate::password::HashError> for ApiError {
    fn from(e: crate::password::HashError) -> Self {
        Self::App(e.into())
    }
}

fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({
            "detail": "A server error occurred.",
            "request_id": current_request_id(),
        })),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Fields(f) => {
                let map: serde_json::Map<String, Value> =
                    f.0.into_iter().map(|(k, v)| (k, json!(v))).collect();
                (StatusCode::BAD_REQUEST, Json(Value::Object(map))).into_response()
            }
            Self::Detail(status, detail) => {
                (status, Json(json!({ "detail": detail }))).into_response()
            }
            Self::Unauthenticated { detail, code } => {
                let mut r = (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({ "detail": detail, "code": code })),
                )
                    .into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"api\""),
                );
                r
            }
            Self::Throttled(t) => {
                let secs = t.retry_after.as_secs().max(1);
                let minutes = t.minutes();
                let unit = if minutes == 1 { "minute" } else { "minutes" };
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({
                        "detail": format!("Too many attempts; try again in {minutes} {unit}."),
                    })),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Self::App(e) => match e {
                AppError::Db(e) => {
                    tracing::error!(error = %e, "database error");
                    server_error()
                }
                AppError::Internal(e) => {
                    tracing::error!(error = %e, "internal error");
                    server_error()
                }
                AppError::Busy => {
                    let mut r = Self::detail(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Too many password checks at once; try again in a moment.",
                    )
                    .into_response();
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                    r
                }
                AppError::NotFound => Self::not_found().into_response(),
                AppError::PayloadTooLarge => {
                    Self::detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large.")
                        .into_response()
                }
                AppError::BadRequest(m) => Self::detail(StatusCode::BAD_REQUEST, m).into_response(),
            },
        }
    }
}
