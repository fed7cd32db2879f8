//! Typed forms for the pages: each form struct has `parse()` from the lenient
//! urlencoded [`Fields`], and [`CsrfForm`] extracts one only after the CSRF check
//! ([`crate::web::csrf`]) passed — a refused form answers `403` with the page again
//! ([`PageForm::refused`]). [`PageQuery`] is the query string of the form pages.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http::request::Parts;

use crate::error::AppError;
use crate::request::Fields;
use crate::state::AppState;

/// The JSON detail of a refused form (pages show [`crate::web::csrf::CSRF_FAILED`]).
pub const CSRF_DETAIL: &str = "CSRF Failed: the form token is missing or invalid.";

/// A form of a page.
pub trait PageForm: Sized + Send {
    /// Reads the typed fields (never fails: missing fields read as empty).
    fn parse(fields: &Fields) -> Self;

    /// The answer when the CSRF check fails: the error page unless the form's own page
    /// is shown again (with what was typed, never a password).
    fn refused(self, _state: &AppState, _headers: &HeaderMap) -> Response {
        AppError::Csrf(CSRF_DETAIL).into_response()
    }
}

/// A form whose CSRF token and origin were checked.
#[derive(Debug)]
pub struct CsrfForm<F>(pub F);

impl<F: PageForm> FromRequest<AppState> for CsrfForm<F> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::PayloadTooLarge.into_response())?;
        let fields = Fields::parse(&bytes);
        let form = F::parse(&fields);
        match state
            .csrf
            .check(&headers, fields.opt("csrf_token").as_deref())
        {
            Ok(()) => Ok(Self(form)),
            Err(failure) => {
                tracing::info!(?failure, "form refused by the CSRF check");
                Err(form.refused(state, &headers))
            }
        }
    }
}

/// `?next=…&tenant=…` of the form pages (absent or empty = `None`).
#[derive(Debug, Default)]
pub struct PageQuery {
    /// Where to go afterwards (validated by the handler).
    pub next: Option<String>,
    /// An organization to pre-fill.
    pub tenant: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let f = Fields::parse(parts.uri.query().unwrap_or("").as_bytes());
        Ok(Self {
            next: f.opt("next"),
            tenant: f.opt("tenant"),
        })
    }
}
