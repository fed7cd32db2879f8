//! [`AuthRejection`]: how a missing, invalid or insufficient token is answered.

use ::axum::Json;
use ::axum::body::Body;
use ::axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

/// The `detail` of a 401.
pub const UNAUTHENTICATED_DETAIL: &str =
    "Authentication credentials were not provided or are invalid.";
/// The `detail` of a 403 for a role that is too low (or a refused cross-origin request).
pub const FORBIDDEN_DETAIL: &str = "You do not have permission to perform this action.";
/// The `detail` of a 403 for a token of another tenant.
pub const WRONG_TENANT_DETAIL: &str = "This account belongs to another organization.";

/// Why an extractor refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRejection {
    /// No valid token. HTML navigation → `303` to `login_url`; API → `401` JSON
    /// `{"detail", "login_url"}` with `WWW-Authenticate: Bearer error="invalid_token"`.
    Unauthenticated {
        /// `{AUTH_URL}/login?next=<this request's absolute URL>`.
        login_url: String,
        /// Redirect (true) or JSON 401 (false).
        wants_html: bool,
    },
    /// The role is too low, or an unsafe cookie request failed the CSRF checks → `403`.
    Forbidden,
    /// With `TENANT_FROM_HOST`: the token is for another tenant than the Host → `403`.
    WrongTenant,
}

/// Marks a 403 built here, so [`crate::AuthLayer`] can answer JSON to API clients.
#[derive(Clone, Copy, Debug)]
struct ForbiddenMarker(&'static str);

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthenticated {
                login_url,
                wants_html: true,
            } => {
                let mut res = StatusCode::SEE_OTHER.into_response();
                if let Ok(location) = HeaderValue::from_str(&login_url) {
                    res.headers_mut().insert(LOCATION, location);
                }
                res.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            AuthRejection::Unauthenticated {
                login_url,
                wants_html: false,
            } => {
                // Always `error="invalid_token"` (RFC 6750 §3.1 would omit the error code when
                // no token was sent at all; clients treat both alike: sign in again).
                let body =
                    serde_json::json!({ "detail": UNAUTHENTICATED_DETAIL, "login_url": login_url });
                let mut res = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                res.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                res.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            AuthRejection::Forbidden => forbidden_page(FORBIDDEN_DETAIL),
            AuthRejection::WrongTenant => forbidden_page(WRONG_TENANT_DETAIL),
        }
    }
}

fn forbidden_page(detail: &'static str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Forbidden</title></head>\
         <body><main><h1>403 Forbidden</h1><p>{detail}</p></main></body></html>\n"
    );
    let mut res = (
        StatusCode::FORBIDDEN,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response();
    res.extensions_mut().insert(ForbiddenMarker(detail));
    res
}

/// Rewrites a 403 page made by [`AuthRejection`] into `{"detail": …}` for API requests.
pub(crate) fn adapt_forbidden(response: Response, wants_html: bool) -> Response {
    if wants_html {
        return response;
    }
    let Some(ForbiddenMarker(detail)) = response.extensions().get::<ForbiddenMarker>().copied()
    else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let body = serde_json::json!({ "detail": detail }).to_string();
    Response::from_parts(parts, Body::from(body))
}
