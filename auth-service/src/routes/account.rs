//! `GET /`: the signed-in account (who, organization, role, active sessions with revoke
//! buttons, sign out, sign out everywhere); `POST /sessions/{id}/revoke`.
//!
//! The account page reads this service's own access cookie; when it is missing or
//! expired it refreshes inline from the refresh cookie (no redirect loop), and without
//! either it sends the browser to `/login`. An access token whose session (`sid`) was
//! signed out no longer counts here, even before it expires.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::login::CSRF_FAILED;
use super::refresh::{RefreshAttempt, try_refresh};
use super::{FormFields, Meta, access_token_for, clear_auth_cookies};
use crate::audit::{self, EventKind};
use crate::entities::{tenant, user};
use crate::error::{AppError, error_page};
use crate::sessions::{self, Session};
use crate::state::AppState;
use crate::views::{AccountPage, Reply, SessionRow};

/// The account routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(account))
        .route("/sessions/{id}/revoke", post(revoke))
}

/// The signed-in user of a request.
#[derive(Debug)]
pub struct SignedIn {
    /// The account.
    pub user: user::Model,
    /// Its tenant.
    pub tenant: tenant::Model,
    /// The session of this browser.
    pub family_id: Option<Uuid>,
    /// Set when the refresh cookie was rotated to get here: send the new cookies.
    pub refreshed: Option<Session>,
}

/// Who is signed in: the access cookie, else a refresh; `Err(true)` when a refresh
/// cookie was present but no longer works (the caller should clear the cookies).
///
/// # Errors
/// A database failure.
pub async fn signed_in(state: &AppState, meta: &Meta) -> Result<Result<SignedIn, bool>, AppError> {
    if let Some(claims) = state
        .cookies
        .read_access(&meta.headers)
        .and_then(|t| state.verifier.verify(&t).ok())
    {
        let session_alive = match claims.sid {
            Some(sid) => state.sessions.family_is_active(&state.db, sid).await?,
            None => true,
        };
        if session_alive {
            let user = user::Entity::find_by_id(claims.user_id)
                .one(&state.db)
                .await?;
            let tenant = tenant::Entity::find_by_id(claims.tenant_id)
                .one(&state.db)
                .await?;
            if let (Some(user), Some(tenant)) = (user, tenant)
                && user.is_active
                && tenant.is_active
                && user.tenant_id == tenant.id
            {
                return Ok(Ok(SignedIn {
                    user,
                    tenant,
                    family_id: claims.sid,
                    refreshed: None,
                }));
            }
        }
    }
    match try_refresh(state, meta).await? {
        RefreshAttempt::Refreshed(session) => Ok(Ok(SignedIn {
            user: session.user.clone(),
            tenant: session.tenant.clone(),
            family_id: Some(session.family_id),
            refreshed: Some(*session),
        })),
        RefreshAttempt::NoCookie => Ok(Err(false)),
        RefreshAttempt::Failed => Ok(Err(true)),
    }
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

fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn account(State(state): State<AppState>, meta: Meta) -> Result<Response, AppError> {
    let me = match signed_in(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let rows = sessions::list_active(&state.db, me.user.id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            family_id: s.family_id.to_string(),
            user_agent: s.user_agent.unwrap_or_else(|| "Unknown browser".to_owned()),
            ip: s.ip.unwrap_or_default(),
            signed_in_at: format_time(s.signed_in_at),
            last_used_at: format_time(s.last_used_at),
            current: Some(s.family_id) == me.family_id,
        })
        .collect();
    let pre = state.csrf.pre_session(&meta.headers);
    let mut reply = Reply::page(
        StatusCode::OK,
        &AccountPage {
            errors: Vec::new(),
            notice: None,
            csrf_token: pre.form_token,
            name: crate::users::display_name(&me.user),
            email: me.user.email.clone(),
            tenant_name: me.tenant.name.clone(),
            tenant_slug: me.tenant.slug.clone(),
            role: me.user.role.clone(),
            sessions: rows,
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref());
    if let Some(session) = &me.refreshed {
        let access = access_token_for(&state, session)?;
        reply = reply
            .cookie(&state.cookies.access_cookie(&access))
            .cookie(&state.cookies.refresh_cookie(&session.refresh_token));
    }
    Ok(reply.into_response())
}

async fn revoke(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    fields: FormFields,
) -> Result<Response, AppError> {
    if state
        .csrf
        .check(&meta.headers, fields.opt("csrf_token"))
        .is_err()
    {
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Please try again",
            CSRF_FAILED,
        ));
    }
    let me = match signed_in(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let Ok(family_id) = Uuid::parse_str(&id) else {
        return Err(AppError::NotFound);
    };
    if !sessions::revoke_user_family(&state.db, me.user.id, family_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &state.db,
        EventKind::SessionRevoked,
        Some(me.tenant.id),
        Some(me.user.id),
        &meta.event_context(),
        Some(format!("family {family_id}")),
    )
    .await?;
    if me.family_id == Some(family_id)
        || me
            .refreshed
            .as_ref()
            .is_some_and(|s| s.family_id == family_id)
    {
        return Ok(to_login(&state, true));
    }
    let mut reply = Reply::see_other("/");
    if let Some(session) = &me.refreshed {
        let access = access_token_for(&state, session)?;
        reply = reply
            .cookie(&state.cookies.access_cookie(&access))
            .cookie(&state.cookies.refresh_cookie(&session.refresh_token));
    }
    Ok(reply.into_response())
}
