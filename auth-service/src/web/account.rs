//! `GET /`: the signed-in account (who, organization, role, active sessions with revoke
//! buttons, sign out, sign out everywhere); `POST /sessions/{id}/revoke`.
//!
//! The account page reads this service's own access cookie
//! ([`access::authenticate`]); when it is missing or no longer works it refreshes
//! inline from the refresh cookie (no redirect loop), and without either it sends the
//! browser to `/login`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use uuid::Uuid;

use super::form::{CsrfForm, PageForm};
use super::refresh::{RefreshAttempt, try_refresh};
use super::views::{AccountPage, Reply, SessionRow};
use super::{to_login, with_session_cookies};
use crate::accounts::sessions::{self, Session};
use crate::accounts::{access, signout};
use crate::error::AppError;
use crate::infra::entities::{tenant, user};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The account routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(account))
        .route("/sessions/{id}/revoke", post(revoke))
}

/// The signed-in user of a page request.
#[derive(Debug)]
pub struct Visitor {
    /// The account.
    pub user: user::Model,
    /// Its tenant.
    pub tenant: tenant::Model,
    /// The session of this browser.
    pub family_id: Option<Uuid>,
    /// Set when the refresh cookie was rotated to get here: send the new cookies.
    pub refreshed: Option<Session>,
}

impl Visitor {
    /// `reply` with the rotated cookies, when there are any.
    pub(crate) fn reply(&self, state: &AppState, reply: Reply) -> Result<Reply, AppError> {
        match &self.refreshed {
            Some(session) => with_session_cookies(state, reply, session),
            None => Ok(reply),
        }
    }
}

/// Who is signed in: the access cookie, else a refresh; `Err(true)` when a refresh
/// cookie was present but no longer works (the caller should clear the cookies).
///
/// # Errors
/// A database failure.
pub async fn visitor(state: &AppState, meta: &Meta) -> Result<Result<Visitor, bool>, AppError> {
    if let Some(token) = state.cookies.read_access(&meta.headers)
        && let Some(me) = access::authenticate(state, &token).await?
    {
        return Ok(Ok(Visitor {
            user: me.user,
            tenant: me.tenant,
            family_id: me.claims.sid,
            refreshed: None,
        }));
    }
    Ok(match try_refresh(state, meta).await? {
        RefreshAttempt::Refreshed(session) => Ok(Visitor {
            user: session.user.clone(),
            tenant: session.tenant.clone(),
            family_id: Some(session.family_id),
            refreshed: Some(*session),
        }),
        RefreshAttempt::NoCookie => Err(false),
        RefreshAttempt::Failed => Err(true),
    })
}

fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn account(State(state): State<AppState>, meta: Meta) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let rows = sessions::list_active(&state.db, me.user.id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            family_id: s.family_id.to_string(),
            device: crate::web::user_agent::describe(s.user_agent.as_deref()),
            user_agent: s.user_agent.unwrap_or_default(),
            ip: s.ip.unwrap_or_default(),
            signed_in_at: format_time(s.signed_in_at),
            last_used_at: format_time(s.last_used_at),
            current: Some(s.family_id) == me.family_id,
        })
        .collect();
    let pre = state.csrf.pre_session(&meta.headers);
    let page = Reply::page(
        StatusCode::OK,
        &AccountPage {
            errors: Vec::new(),
            notice: None,
            csrf_token: pre.form_token,
            name: crate::accounts::users::display_name(&me.user),
            email: me.user.email.clone(),
            tenant_name: me.tenant.name.clone(),
            tenant_slug: me.tenant.slug.clone(),
            role: me.user.role.to_string(),
            sessions: rows,
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref());
    Ok(me.reply(&state, page)?.into_response())
}

/// The account page's forms carry only the CSRF token.
#[derive(Debug)]
pub struct ButtonForm;

impl PageForm for ButtonForm {
    fn parse(_: &Fields) -> Self {
        Self
    }
}

async fn revoke(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let Ok(family_id) = Uuid::parse_str(&id) else {
        return Err(AppError::NotFound);
    };
    signout::revoke_session(&state, &me.user, family_id, &meta.event_context()).await?;
    if me.family_id == Some(family_id) {
        return Ok(to_login(&state, true));
    }
    Ok(me.reply(&state, Reply::see_other("/"))?.into_response())
}
