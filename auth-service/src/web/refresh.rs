//! `GET /refresh?next=URL`: rotate the refresh cookie and send the browser on, or to
//! the sign-in form. Also the refresh half of `GET /login` and of the account page
//! ([`try_refresh`]); the rotation and its reuse audit are [`signin::refresh`]'s.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::form::PageQuery;
use super::views::{Reply, next_query};
use super::{clear_auth_cookies, signed_in_reply};
use crate::accounts::sessions::Session;
use crate::accounts::signin::{self, RefreshOutcome};
use crate::config::Limit;
use crate::error::AppError;
use crate::request::Meta;
use crate::state::AppState;

/// The refresh route.
pub fn router() -> Router<AppState> {
    Router::new().route("/refresh", get(refresh))
}

/// What the refresh cookie gave.
#[derive(Debug)]
pub enum RefreshAttempt {
    /// No refresh cookie.
    NoCookie,
    /// Rotated (or the same successor within the grace).
    Refreshed(Box<Session>),
    /// A cookie that no longer works (the caller should delete it).
    Failed,
}

/// Presents the request's refresh cookie (counted by the address's refresh limit).
///
/// # Errors
/// A database failure; [`AppError::RateLimited`].
pub async fn try_refresh(state: &AppState, meta: &Meta) -> Result<RefreshAttempt, AppError> {
    let Some(token) = state.cookies.read_refresh(&meta.headers) else {
        return Ok(RefreshAttempt::NoCookie);
    };
    state.rate_limits.check(Limit::Refresh, meta.ip)?;
    Ok(
        match signin::refresh(state, &token, &meta.event_context()).await? {
            RefreshOutcome::Ok(session) => RefreshAttempt::Refreshed(session),
            // The sign-in form: the password, then the second step or its set-up.
            RefreshOutcome::Invalid | RefreshOutcome::SecondFactorRequired => {
                RefreshAttempt::Failed
            }
        },
    )
}

async fn refresh(
    State(state): State<AppState>,
    meta: Meta,
    query: PageQuery,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(query.next.as_deref());
    let to_login = || Reply::see_other(&format!("/login{}", next_query(next.as_str())));
    Ok(match try_refresh(&state, &meta).await? {
        RefreshAttempt::Refreshed(session) => {
            signed_in_reply(&state, &session, &next)?.into_response()
        }
        RefreshAttempt::NoCookie => to_login().into_response(),
        RefreshAttempt::Failed => clear_auth_cookies(&state, to_login()).into_response(),
    })
}
