//! The service's one error type. Every variant has one status, mapped once in
//! [`AppError::status`]; its body is chosen by one negotiation rule,
//! [`shared_jwt::axum::wants_html`]: the service's error page for browsers, or
//! `{"detail": …}` (a field map `{"field": ["…"]}` for [`AppError::Fields`]) for the
//! JSON API and scripts. [`IntoResponse`] sets the status and headers and attaches both
//! renderings; the [`negotiate`] middleware (mounted on every route by
//! [`crate::routes::router`]) keeps the one the client wants. Database and
//! unexpected errors are logged once, here, and answered with a generic 500 and the
//! request id.

use std::borrow::Cow;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::accounts::throttle::Throttled;
use crate::request::rate_limit::retry_after_secs;
use crate::web::csrf::CSRF_FAILED;
use crate::web::views::{ErrorPage, Reply};

/// The current request's id, when inside a request (set by service-kit's layer stack).
pub use service_kit::current_request_id;

mod fields;
pub use fields::FieldErrors;

/// Why a request is not authenticated (simplejwt's codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthenticated {
    /// No credentials.
    NotAuthenticated,
    /// A token that does not (or no longer) work.
    TokenNotValid,
    /// A failed password sign-in (one answer for every reason).
    NoActiveAccount,
}

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
    /// 404: no such page or object (another tenant's included).
    #[error("not found")]
    NotFound,
    /// 404: a page of a list beyond its end (DRF's "Invalid page.").
    #[error("invalid page")]
    InvalidPage,
    /// 405.
    #[error("method {0} not allowed")]
    MethodNotAllowed(Method),
    /// 413: the body exceeds the 64 KiB limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not JSON (the given content type, truncated).
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// 400: the request is malformed (the text is shown).
    #[error("bad request: {0}")]
    BadRequest(Cow<'static, str>),
    /// 400 with a field map.
    #[error("invalid fields")]
    Fields(FieldErrors),
    /// 401 with `WWW-Authenticate: Bearer` for JSON clients.
    #[error("not authenticated")]
    Unauthenticated(Unauthenticated),
    /// 403: the caller may not do this (the text is shown).
    #[error("forbidden: {0}")]
    Forbidden(Cow<'static, str>),
    /// 403 `{"detail", "code": "email_not_verified"}`: the right password, but the
    /// account must verify its address before it may get a token.
    #[error("email not verified")]
    EmailNotVerified,
    /// 403: a CSRF check failed (the JSON detail; pages show [`CSRF_FAILED`]).
    #[error("CSRF check failed")]
    Csrf(&'static str),
    /// 429 with `Retry-After`.
    #[error("throttled")]
    Throttled(Throttled),
    /// 429 with `Retry-After` (whole seconds, at least 1): this address sent too many
    /// requests of one kind ([`crate::request::rate_limit`]); the time until the next.
    #[error("rate limited")]
    RateLimited(std::time::Duration),
}

/// `Result` with [`AppError`].
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl From<crate::infra::password::HashError> for AppError {
    fn from(e: crate::infra::password::HashError) -> Self {
        match e {
            crate::infra::password::HashError::Busy => Self::Busy,
            crate::infra::password::HashError::Internal(m) => Self::Internal(anyhow::anyhow!(m)),
        }
    }
}

impl From<crate::accounts::users::UserError> for AppError {
    fn from(e: crate::accounts::users::UserError) -> Self {
        use crate::accounts::users::UserError;
        match e {
            UserError::Db(e) => Self::Db(e),
            UserError::Hash(e) => e.into(),
            other => Self::Internal(anyhow::anyhow!(other.to_string())),
        }
    }
}

const SERVER_ERROR: &str = "The service could not complete the request. Please try again; if it keeps failing, quote the request id below.";

/// Both renderings of an error, attached to its response until [`negotiate`] picks one.
#[derive(Clone, Debug)]
struct Rendered {
    title: &'static str,
    message: String,
    json: Value,
}

impl AppError {
    /// The one status of each variant.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Db(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound | Self::InvalidPage => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BadRequest(_) | Self::Fields(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Csrf(_) | Self::EmailNotVerified => StatusCode::FORBIDDEN,
            Self::Throttled(_) | Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn render(self) -> Rendered {
        let detail = |title, message: String| Rendered {
            title,
            json: json!({ "detail": message }),
            message,
        };
        match self {
            Self::Db(e) => {
                tracing::error!(error = %e, "database error");
                Self::server_error()
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                Self::server_error()
            }
            Self::Busy => Rendered {
                title: "Busy",
                message:
                    "Too many sign-ins are being checked right now. Please try again in a moment."
                        .to_owned(),
                json: json!({"detail": "Too many password checks at once; try again in a moment."}),
            },
            Self::NotFound => Rendered {
                title: "Not found",
                message: "There is no page at this address.".to_owned(),
                json: json!({"detail": "Not found."}),
            },
            Self::InvalidPage => Rendered {
                title: "Not found",
                message: "There is no such page of results.".to_owned(),
                json: json!({"detail": "Invalid page."}),
            },
            Self::MethodNotAllowed(m) => {
                detail("Method not allowed", format!("Method \"{m}\" not allowed."))
            }
            Self::PayloadTooLarge => Rendered {
                title: "Request too large",
                message: "The form sent more data than this service accepts.".to_owned(),
                json: json!({"detail": "Request body is too large."}),
            },
            Self::UnsupportedMediaType(given) => detail(
                "Unsupported media type",
                format!("Unsupported media type \"{given}\" in request; send application/json."),
            ),
            Self::BadRequest(m) => detail("Bad request", m.into_owned()),
            Self::Fields(f) => {
                let message =
                    f.0.iter()
                        .map(|(k, v)| format!("{k}: {}", v.join(" ")))
                        .collect::<Vec<_>>()
                        .join("\n");
                let map: serde_json::Map<String, Value> =
                    f.0.into_iter().map(|(k, v)| (k, json!(v))).collect();
                Rendered {
                    title: "Bad request",
                    message,
                    json: Value::Object(map),
                }
            }
            Self::Unauthenticated(kind) => {
                let (detail, code) = match kind {
                    Unauthenticated::NotAuthenticated => (
                        "Authentication credentials were not provided.",
                        "not_authenticated",
                    ),
                    Unauthenticated::TokenNotValid => {
                        ("Token is invalid or expired", "token_not_valid")
                    }
                    Unauthenticated::NoActiveAccount => {
                        (crate::accounts::signin::FAILED, "no_active_account")
                    }
                };
                Rendered {
                    title: "Please sign in",
                    message: detail.to_owned(),
                    json: json!({ "detail": detail, "code": code }),
                }
            }
            Self::Forbidden(m) => detail("Forbidden", m.into_owned()),
            Self::EmailNotVerified => Rendered {
                title: "Confirm your address first",
                message: crate::accounts::verification::CONFIRM_FIRST.to_owned(),
                json: json!({
                    "detail": crate::accounts::verification::CONFIRM_FIRST,
                    "code": "email_not_verified",
                }),
            },
            Self::Csrf(d) => Rendered {
                title: "Please try again",
                message: CSRF_FAILED.to_owned(),
                json: json!({ "detail": d }),
            },
            Self::Throttled(t) => detail("Too many attempts", t.message()),
            Self::RateLimited(wait) => {
                let secs = retry_after_secs(wait);
                let unit = if secs == 1 { "second" } else { "seconds" };
                let detail = format!("Request was throttled. Expected available in {secs} {unit}.");
                let message =
                    format!("Too many requests from your network; try again in {secs} {unit}.");
                Rendered {
                    title: "Too many requests",
                    message,
                    json: json!({ "detail": detail }),
                }
            }
        }
    }

    fn server_error() -> Rendered {
        Self::server_error_for(current_request_id())
    }

    fn server_error_for(request_id: Option<String>) -> Rendered {
        Rendered {
            title: "Something went wrong",
            message: SERVER_ERROR.to_owned(),
            json: json!({
                "detail": "A server error occurred.",
                "request_id": request_id,
            }),
        }
    }
}

/// The service's error page with this status.
#[must_use]
fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    request_id: Option<String>,
) -> Response {
    Reply::page(
        status,
        &ErrorPage {
            title: title.to_owned(),
            message: message.to_owned(),
            request_id,
        },
    )
    .into_response()
}

/// How service-kit's stack answers a request that panicked (already logged by its hook): the
/// same `500` as [`AppError::Internal`], the error page or `{"detail", "request_id"}`.
#[must_use]
pub fn panic_response(request_id: &str, wants_html: bool) -> Response {
    let r = AppError::server_error_for(Some(request_id.to_owned()));
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    if wants_html {
        error_page(status, r.title, &r.message, Some(request_id.to_owned()))
    } else {
        (status, axum::Json(r.json)).into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            Self::Busy => Some(2),
            Self::Throttled(t) => Some(t.retry_after_secs()),
            Self::RateLimited(wait) => Some(retry_after_secs(*wait)),
            _ => None,
        };
        let rendered = self.render();
        let mut res = status.into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res.extensions_mut().insert(rendered);
        res
    }
}

/// Middleware: gives every [`AppError`] response the body this client wants (see the
/// module docs). Other responses pass untouched.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let html = shared_jwt::axum::wants_html(req.uri().path(), req.headers());
    let res = next.run(req).await;
    let (mut parts, body) = res.into_parts();
    let Some(r) = parts.extensions.remove::<Rendered>() else {
        return Response::from_parts(parts, body);
    };
    let rendered = if html {
        error_page(parts.status, r.title, &r.message, current_request_id())
    } else {
        if parts.status == StatusCode::UNAUTHORIZED {
            parts.headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        axum::Json(r.json).into_response()
    };
    // The status and headers (Retry-After, CORS) stay; the body and its type are new.
    let (rparts, body) = rendered.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = rparts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_variant_has_one_status_and_a_json_detail() {
        let cases = [
            (AppError::Busy, 503),
            (AppError::NotFound, 404),
            (AppError::InvalidPage, 404),
            (AppError::MethodNotAllowed(Method::PUT), 405),
            (AppError::PayloadTooLarge, 413),
            (AppError::UnsupportedMediaType("text/plain".into()), 415),
            (AppError::BadRequest("x".into()), 400),
            (AppError::Fields(FieldErrors::single("email", "bad")), 400),
            (
                AppError::Unauthenticated(Unauthenticated::TokenNotValid),
                401,
            ),
            (AppError::Forbidden("no".into()), 403),
            (AppError::Csrf("CSRF Failed"), 403),
            (
                AppError::Throttled(Throttled {
                    retry_after: Duration::from_secs(61),
                }),
                429,
            ),
            (AppError::RateLimited(Duration::from_millis(1)), 429),
            (AppError::Internal(anyhow::anyhow!("boom")), 500),
        ];
        for (err, status) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            let fields = matches!(err, AppError::Fields(_));
            let r = err.render();
            assert!(!r.title.is_empty() && !r.message.is_empty());
            assert_eq!(r.json.get("detail").is_some(), !fields, "{status}");
        }
        let r = AppError::Fields(FieldErrors::single("email", "bad")).render();
        assert_eq!(r.json, json!({"email": ["bad"]}));
    }
}
