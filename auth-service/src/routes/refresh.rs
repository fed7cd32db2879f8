//! `GET /refresh?next=URL`: rotate the refresh cookie and send the browser on, or to
//! the sign-in form. Also the refresh half of `GET /login` and of the account page.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Meta, QueryFields, clear_auth_cookies, signed_in_reply};
use crate::audit::{self, EventKind};
use crate::error::AppError;
use crate::sessions::{Refreshed, Session};
use crate::state::AppState;
use crate::views::{Reply, next_query};

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

/// Tries the request's refresh cookie, recording a replay in the audit log.
///
/// # Errors
/// A database failure.
pub async fn try_refresh(state: &AppState, meta: &Meta) -> Result<RefreshAttempt, AppError> {
    let Some(token) = state.cookies.read_refresh(&meta.headers) else {
        return Ok(RefreshAttempt::NoCookie);
    };
    let ctx = meta.event_context();
    match state.sessions.refresh(&state.db, &token, &ctx).await? {
        Refreshed::Ok(session) => Ok(RefreshAttempt::Refreshed(session)),
        Refreshed::Invalid => Ok(RefreshAttempt::Failed),
        Refreshed::Reused {
            family_id,
            user_id,
            tenant_id,
        } => {
            audit::record(
                &state.db,
                EventKind::RefreshReuse,
                Some(tenant_id),
                Some(user_id),
                &ctx,
                Some(format!("family {family_id} revoked")),
            )
            .await?;
            Ok(RefreshAttempt::Failed)
        }
    }
}

async fn refresh(
    State(state): State<AppState>,
    meta: Meta,
    query: QueryFields,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(query.opt("next"));
    match try_refresh(&state, &meta).await? {
        RefreshAttempt::Refreshed(session) => {
            Ok(signed_in_reply(&state, &session, &next)?.into_response())
        }
        RefreshAttempt::NoCookie => {
            Ok(Reply::see_other(&format!("/login{}", next_query(next.as_str()))).into_response())
        }
        RefreshAttempt::Failed => {
            let reply = Reply::see_other(&format!("/login{}", next_query(next.as_str())));
            Ok(clear_auth_cookies(&state, reply).into_response())
        }
    }
}
