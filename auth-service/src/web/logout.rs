//! `GET /logout` (a page with a button), `POST /logout` (end this browser's sign-in,
//! delete both cookies, `303` to the validated `next` or `/login`) and
//! `POST /logout/all` (end every sign-in of the user). The rules are
//! [`signout`]'s.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};

use super::account::{ButtonForm, visitor};
use super::csrf::CSRF_FAILED;
use super::form::{CsrfForm, PageForm, PageQuery};
use super::redirect::SafeRedirect;
use super::views::{LogoutPage, Reply};
use super::{clear_auth_cookies, to_login};
use crate::accounts::signout::{self, SignOut};
use crate::error::AppError;
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The sign-out routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logout", get(form).post(submit))
        .route("/logout/all", post(submit_all))
}

/// `POST /logout`'s fields.
#[derive(Debug)]
pub struct LogoutForm {
    /// Where to go afterwards (unvalidated).
    pub next: Option<String>,
}

impl PageForm for LogoutForm {
    fn parse(f: &Fields) -> Self {
        Self {
            next: f.opt("next"),
        }
    }

    fn refused(self, state: &AppState, headers: &HeaderMap) -> Response {
        let shown = valid_next(state, self.next.as_deref());
        page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            &shown,
            vec![CSRF_FAILED.to_owned()],
        )
        .into_response()
    }
}

/// The validated `next` to show in the form, or empty.
fn valid_next(state: &AppState, next: Option<&str>) -> String {
    next.and_then(|n| state.redirects.parse(n))
        .map(|n| n.to_string())
        .unwrap_or_default()
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    errors: Vec<String>,
) -> Reply {
    let pre = state.csrf.pre_session(headers);
    Reply::page(
        status,
        &LogoutPage {
            errors,
            csrf_token: pre.form_token,
            next: next.to_owned(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

async fn form(State(state): State<AppState>, meta: Meta, query: PageQuery) -> Response {
    let next = valid_next(&state, query.next.as_deref());
    page(&state, &meta.headers, StatusCode::OK, &next, Vec::new()).into_response()
}

async fn submit(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<LogoutForm>,
) -> Result<Response, AppError> {
    let next = form
        .next
        .as_deref()
        .and_then(|n| state.redirects.parse(n))
        .unwrap_or_else(SafeRedirect::login);
    let refresh = state.cookies.read_refresh(&meta.headers);
    let access = state.cookies.read_access(&meta.headers);
    let tokens = SignOut {
        refresh_token: refresh.as_deref(),
        access_token: access.as_deref(),
    };
    signout::sign_out(&state, tokens, &meta.event_context(), None).await?;
    Ok(clear_auth_cookies(&state, Reply::see_other(next.as_str())).into_response())
}

async fn submit_all(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    signout::sign_out_everywhere(&state, &me.user, &meta.event_context()).await?;
    Ok(to_login(&state, true))
}
