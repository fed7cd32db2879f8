//! `GET /login` (refresh if possible, else the form) and `POST /login`.
//!
//! Every refusal — unknown organization, unknown email, wrong password, inactive user
//! or tenant — gets the same status (401) and the same message
//! ([`signin::FAILED`]); the rules behind it are [`signin::sign_in`]'s. Only after a
//! correct password may an account awaiting address verification learn so (`403`, with
//! a form that mails a new link).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::csrf::CSRF_FAILED;
use super::form::{CsrfForm, PageForm, PageQuery};
use super::redirect::SafeRedirect;
use super::refresh::{RefreshAttempt, try_refresh};
use super::views::{LoginPage, Reply, next_query};
use super::{clear_auth_cookies, signed_in_reply};
use crate::accounts::signin::{self, Credentials, FAILED, SignIn};
use crate::accounts::tenants::TenantSlug;
use crate::accounts::verification::CONFIRM_FIRST;
use crate::error::AppError;
use crate::request::rate_limit::{RateLimited, SignInAttempts};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The sign-in routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(form).post(submit))
}

/// `POST /login`'s fields.
#[derive(Debug, Default)]
pub struct LoginForm {
    /// Organization slug as typed (trimmed, lowercased).
    pub tenant: String,
    /// Email as typed (trimmed).
    pub email: String,
    /// The password.
    pub password: String,
    /// Where to go afterwards (unvalidated).
    pub next: Option<String>,
}

impl PageForm for LoginForm {
    fn parse(f: &Fields) -> Self {
        Self {
            tenant: f.get("tenant").trim().to_lowercase(),
            email: f.get("email").trim().to_owned(),
            password: f.get("password").to_owned(),
            next: f.opt("next"),
        }
    }

    fn refused(self, state: &AppState, headers: &HeaderMap) -> Response {
        let next = state.redirects.parse_or_root(self.next.as_deref());
        page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            &self,
            &next,
            CSRF_FAILED,
        )
        .into_response()
    }
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    form: &LoginForm,
    next: &SafeRedirect,
    error: &str,
) -> Reply {
    let pre = state.csrf.pre_session(headers);
    let errors: Vec<String> = Some(error)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .into_iter()
        .collect();
    Reply::page(
        status,
        &LoginPage {
            failed: !errors.is_empty(),
            unverified: false,
            errors,
            csrf_token: pre.form_token,
            next: next.to_string(),
            next_query: next_query(next.as_str()),
            tenant: form.tenant.clone(),
            email: form.email.clone(),
            passkeys: state.passkeys.enabled(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

/// `403` after a correct password of an account that must confirm its address first:
/// the form again, saying so, with a button that mails a new link.
fn unverified_page(
    state: &AppState,
    headers: &HeaderMap,
    form: &LoginForm,
    next: &SafeRedirect,
) -> Reply {
    let pre = state.csrf.pre_session(headers);
    Reply::page(
        StatusCode::FORBIDDEN,
        &LoginPage {
            failed: false,
            unverified: true,
            errors: vec![CONFIRM_FIRST.to_owned()],
            csrf_token: pre.form_token,
            next: next.to_string(),
            next_query: next_query(next.as_str()),
            tenant: form.tenant.clone(),
            email: form.email.clone(),
            passkeys: state.passkeys.enabled(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

async fn form(
    State(state): State<AppState>,
    meta: Meta,
    query: PageQuery,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(query.next.as_deref());
    let attempt = try_refresh(&state, &meta).await?;
    if let RefreshAttempt::Refreshed(session) = &attempt {
        return Ok(signed_in_reply(&state, session, &next)?.into_response());
    }
    let tenant = query
        .tenant
        .and_then(|t| TenantSlug::parse_typed(&t).ok())
        .map(|s| s.to_string())
        .or_else(|| state.redirects.tenant_hint(&next))
        .unwrap_or_default();
    let typed = LoginForm {
        tenant,
        ..LoginForm::default()
    };
    let reply = page(&state, &meta.headers, StatusCode::OK, &typed, &next, "");
    Ok(match attempt {
        RefreshAttempt::Failed => clear_auth_cookies(&state, reply),
        _ => reply,
    }
    .into_response())
}

async fn submit(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(form.next.as_deref());
    let ctx = meta.event_context();
    let creds = Credentials {
        tenant_slug: &form.tenant,
        email: &form.email,
        password: &form.password,
    };
    match signin::sign_in(&state, creds, meta.ip, &ctx).await? {
        SignIn::Ok(session) => {
            // This browser's previous sign-in, if any, is replaced: end it.
            replace_previous(&state, &meta).await?;
            Ok(signed_in_reply(&state, &session, &next)?.into_response())
        }
        SignIn::Failed => Ok(page(
            &state,
            &meta.headers,
            StatusCode::UNAUTHORIZED,
            &form,
            &next,
            FAILED,
        )
        .into_response()),
        SignIn::SecondFactor(pending) => super::mfa::start_step(&state, &pending.0, &next).await,
        SignIn::SetupRequired(pending) => super::mfa::start_setup(&state, &pending.0, &next).await,
        SignIn::Unverified => {
            Ok(unverified_page(&state, &meta.headers, &form, &next).into_response())
        }
        SignIn::Throttled(t) => Ok(page(
            &state,
            &meta.headers,
            StatusCode::TOO_MANY_REQUESTS,
            &form,
            &next,
            &t.message(),
        )
        .header(header::RETRY_AFTER, HeaderValue::from(t.retry_after_secs()))
        .into_response()),
    }
}

/// Ends the sign-in this browser had before a new one (`POST /login`, `POST /register`).
///
/// # Errors
/// A database failure.
pub async fn replace_previous(state: &AppState, meta: &Meta) -> Result<(), AppError> {
    if let Some(old) = state.cookies.read_refresh(&meta.headers) {
        state.sessions.revoke_by_token(&state.db, &old).await?;
    }
    Ok(())
}
