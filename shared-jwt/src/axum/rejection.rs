//! [`AuthRejection`]: why an extractor refused a request — its kind, status and public message —
//! and the built-in way to answer it.
//!
//! An extractor's rejection is not answered where it is made: [`crate::AuthLayer`] finds it on
//! the response and renders it for the request, with the host's renderer when one is installed
//! ([`crate::AuthLayer::render_rejections_with`]), else with
//! [`AuthRejection::default_response`]. Either way the client gets the negotiated form
//! ([`super::wants_html`]): a page or a redirect for browsers, JSON for API clients.

use ::axum::Json;
use ::axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

/// The `detail` of a 401.
pub const UNAUTHENTICATED_DETAIL: &str =
    "Authentication credentials were not provided or are invalid.";
/// The `detail` of a 403 for a role that is too low.
pub const FORBIDDEN_DETAIL: &str = "You do not have permission to perform this action.";
/// The `detail` of a 403 for a token of another tenant.
pub const WRONG_TENANT_DETAIL: &str = "This account belongs to another organization.";
/// The `detail` of a 403 for a refused cross-site request or a missing or wrong form token.
pub const CSRF_DETAIL: &str =
    "The form expired or did not come from this site. Reload the page and try again.";

/// Why an extractor refused a request. [`AuthRejection::status`] and
/// [`AuthRejection::detail`] are what a host needs to render it in its own look.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthRejection {
    /// No valid token → `401`. Rendered by default as a `303` to `login_url` for browser
    /// navigation, and as `401 {"detail", "login_url"}` with
    /// `WWW-Authenticate: Bearer error="invalid_token"` for API clients.
    #[error("{}", UNAUTHENTICATED_DETAIL)]
    Unauthenticated {
        /// `{AUTH_URL}/login?next=<this request's absolute URL>` (empty without the layer).
        login_url: String,
    },
    /// The role is too low → `403`.
    #[error("{}", FORBIDDEN_DETAIL)]
    Forbidden,
    /// With `TENANT_FROM_HOST`: the token is for another tenant than the Host → `403`.
    #[error("{}", WRONG_TENANT_DETAIL)]
    WrongTenant,
    /// An unsafe cookie-authenticated request failed a CSRF check (cross-site `Origin` or
    /// `Sec-Fetch-Site`, missing or wrong form token) → `403`.
    #[error("{}", CSRF_DETAIL)]
    Csrf,
}

/// Marks a response made by [`AuthRejection::into_response`], so that the layer renders it.
#[derive(Clone, Debug)]
pub(crate) struct Rejected(pub(crate) AuthRejection);

impl AuthRejection {
    /// `401` for [`AuthRejection::Unauthenticated`], `403` otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::WrongTenant | Self::Csrf => StatusCode::FORBIDDEN,
        }
    }

    /// The public message (the `detail` of the JSON answer).
    pub fn detail(&self) -> &'static str {
        match self {
            Self::Unauthenticated { .. } => UNAUTHENTICATED_DETAIL,
            Self::Forbidden => FORBIDDEN_DETAIL,
            Self::WrongTenant => WRONG_TENANT_DETAIL,
            Self::Csrf => CSRF_DETAIL,
        }
    }

    /// Where to sign in, for [`AuthRejection::Unauthenticated`].
    pub fn login_url(&self) -> Option<&str> {
        match self {
            Self::Unauthenticated { login_url } => Some(login_url),
            _ => None,
        }
    }

    /// The built-in answer: for browsers (`wants_html`) a `303` to sign in or a small `403`
    /// page; for API clients `401 {"detail", "login_url"}` with `WWW-Authenticate` or
    /// `403 {"detail"}`. Hosts that render their own pages usually keep it for
    /// [`AuthRejection::Unauthenticated`], whose shape the contract fixes.
    pub fn default_response(&self, wants_html: bool) -> Response {
        match (self, wants_html) {
            (Self::Unauthenticated { login_url }, true) => {
                let mut res = StatusCode::SEE_OTHER.into_response();
                if let Ok(location) = HeaderValue::from_str(login_url) {
                    res.headers_mut().insert(LOCATION, location);
                }
                res.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            (Self::Unauthenticated { login_url }, false) => {
                // Always `error="invalid_token"` (RFC 6750 §3.1 would omit the error code when
                // no token was sent at all; clients treat both alike: sign in again).
                let body = serde_json::json!({ "detail": self.detail(), "login_url": login_url });
                let mut res = (self.status(), Json(body)).into_response();
                res.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                res.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            (_, true) => forbidden_page(self.detail()),
            (_, false) => (
                self.status(),
                Json(serde_json::json!({ "detail": self.detail() })),
            )
                .into_response(),
        }
    }
}

/// The API form of [`AuthRejection::default_response`] (what a route without
/// [`crate::AuthLayer`] gets), marked so that the layer renders it for the request instead.
impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let mut res = self.default_response(false);
        res.extensions_mut().insert(Rejected(self));
        res
    }
}

fn forbidden_page(detail: &'static str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Forbidden</title></head>\
         <body><main><h1>403 Forbidden</h1><p>{detail}</p></main></body></html>\n"
    );
    (
        StatusCode::FORBIDDEN,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response()
}
