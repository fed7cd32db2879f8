//! `GET /logout` (a page with a button), `POST /logout` (revoke this browser's refresh
//! family, delete both cookies, `303` to the validated `next` or `/login`) and
//! `POST /logout/all` (revoke every session of the user).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;

use super::account::{signed_in, to_login};
use super::login::CSRF_FAILED;
use super::{FormFields, Meta, QueryFields, clear_auth_cookies};
use crate::audit::{self, EventKind};
use crate::error::AppError;
use crate::redirect::SafeRedirect;
use crate::sessions;
use crate::state::AppState;
use crate::views::{LogoutPage, Reply};

/// The sign-out routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logout", get(form).post(submit))
        .route("/logout/all", post(submit_all))
}

fn page(
    state: &AppState,
    meta: &Meta,
    status: StatusCode,
    next: &str,
    errors: Vec<String>,
) -> Reply {
    let pre = state.csrf.pre_session(&meta.headers);
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

async fn form(State(state): State<AppState>, meta: Meta, query: QueryFields) -> Response {
    let next = query
        .opt("next")
        .and_then(|n| state.redirects.parse(n))
        .map(|n| n.to_string())
        .unwrap_or_default();
    page(&state, &meta, StatusCode::OK, &next, Vec::new()).into_response()
}

async fn submit(
    State(state): State<AppState>,
    meta: Meta,
    fields: FormFields,
) -> Result<Response, AppError> {
    let next = fields
        .opt("next")
        .and_then(|n| state.redirects.parse(n))
        .unwrap_or_else(SafeRedirect::login);
    if state
        .csrf
        .check(&meta.headers, fields.opt("csrf_token"))
        .is_err()
    {
        let shown = fields
            .opt("next")
            .and_then(|n| state.redirects.parse(n))
            .map(|n| n.to_string())
            .unwrap_or_default();
        return Ok(page(
            &state,
            &meta,
            StatusCode::FORBIDDEN,
            &shown,
            vec![CSRF_FAILED.to_owned()],
        )
        .into_response());
    }
    let ctx = meta.event_context();
    let mut revoked = None;
    if let Some(token) = state.cookies.read_refresh(&meta.headers) {
        revoked = state.sessions.revoke_by_token(&state.db, &token).await?;
    }
    if revoked.is_none() {
        // No (valid) refresh cookie: fall back to the access token's session id.
        if let Some(claims) = state
            .cookies
            .read_access(&meta.headers)
            .and_then(|t| state.verifier.verify(&t).ok())
            && let Some(sid) = claims.sid
        {
            sessions::revoke_family(&state.db, sid).await?;
            audit::record(
                &state.db,
                EventKind::Logout,
                Some(claims.tenant_id),
                Some(claims.user_id),
                &ctx,
                None,
            )
            .await?;
        }
    }
    if let Some(row) = revoked {
        audit::record(
            &state.db,
            EventKind::Logout,
            Some(row.tenant_id),
            Some(row.user_id),
            &ctx,
            None,
        )
        .await?;
    }
    Ok(clear_auth_cookies(&state, Reply::see_other(next.as_str())).into_response())
}

async fn submit_all(
    State(state): State<AppState>,
    meta: Meta,
    fields: FormFields,
) -> Result<Response, AppError> {
    if state
        .csrf
        .check(&meta.headers, fields.opt("csrf_token"))
        .is_err()
    {
        return Ok(crate::error::error_page(
            StatusCode::FORBIDDEN,
            "Please try again",
            CSRF_FAILED,
        ));
    }
    let me = match signed_in(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let count = sessions::revoke_all_for_user(&state.db, me.user.id).await?;
    audit::record(
        &state.db,
        EventKind::LogoutAll,
        Some(me.tenant.id),
        Some(me.user.id),
        &meta.event_context(),
        Some(format!("{count} tokens revoked")),
    )
    .await?;
    Ok(to_login(&state, true))
}
