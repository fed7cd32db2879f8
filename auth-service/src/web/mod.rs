//! The HTML front end: the sign-in, sign-up, sign-out, refresh and account pages; the
//! members page, invitation acceptance and organization settings. The
//! handlers only translate HTTP — typed forms ([`form`]) in, pages ([`views`]),
//! redirects and cookies out — and call the use cases in [`crate::accounts`] for every
//! rule. Also the page-only concerns: the pre-session CSRF tokens ([`csrf`]) and the
//! `next` rule ([`redirect`]).

pub mod account;
pub mod account_forms;
pub mod audit;
pub mod csrf;
pub mod form;
pub mod invite;
pub mod login;
pub mod logout;
pub mod members;
pub mod mfa;
pub mod organization;
pub mod passkeys;
pub mod recovery;
pub mod redirect;
pub mod refresh;
pub mod register;
pub mod user_agent;
pub mod verification;
pub mod views;

use axum::Router;
use axum::response::{IntoResponse, Response};

use crate::accounts::access;
use crate::accounts::sessions::Session;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::redirect::SafeRedirect;
use crate::web::views::Reply;

/// Every page route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(register::router())
        .merge(logout::router())
        .merge(refresh::router())
        .merge(account::router())
        .merge(members::router())
        .merge(invite::router())
        .merge(organization::router())
        // Account lifecycle by e-mail (password reset, address verification, changes).
        .merge(recovery::router())
        .merge(verification::router())
        .merge(account_forms::router())
        .merge(audit::router())
        // Second factor (r15-mfa).
        .merge(mfa::router())
        .merge(passkeys::router())
}

/// Adds both cookies of a (new or rotated) session.
///
/// # Errors
/// A signing failure (500).
pub fn with_session_cookies(
    state: &AppState,
    reply: Reply,
    session: &Session,
) -> Result<Reply, AppError> {
    let access = access::issue(state, session)?;
    Ok(reply
        .cookie(&state.cookies.access_cookie(&access))
        .cookie(&state.cookies.refresh_cookie(&session.refresh_token)))
}

/// `303 next` with both cookies set: the end of every successful sign-in or refresh.
///
/// # Errors
/// A signing failure (500).
pub fn signed_in_reply(
    state: &AppState,
    session: &Session,
    next: &SafeRedirect,
) -> Result<Reply, AppError> {
    with_session_cookies(state, Reply::see_other(next.as_str()), session)
}

/// Adds both removal cookies (same Domain and Path as when set).
#[must_use]
pub fn clear_auth_cookies(state: &AppState, reply: Reply) -> Reply {
    reply
        .cookie(&state.cookies.remove_access_cookie())
        .cookie(&state.cookies.remove_refresh_cookie())
}

/// `303 /login`, clearing the cookies when they no longer work.
pub fn to_login(state: &AppState, clear: bool) -> Response {
    let reply = Reply::see_other("/login");
    if clear {
        clear_auth_cookies(state, reply)
    } else {
        reply
    }
    .into_response()
}
