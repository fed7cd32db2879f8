//! `GET /login` (refresh if possible, else the form) and `POST /login`.
//!
//! Every refusal — unknown organization, unknown email, wrong password, inactive user
//! or tenant — gets the same status (401), the same message and the same work (an
//! argon2 verification against a dummy hash when there is no account), so nothing
//! tells whether an organization or an email exists.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

use super::refresh::{RefreshAttempt, try_refresh};
use super::{FormFields, Meta, QueryFields, clear_auth_cookies, signed_in_reply};
use crate::error::AppError;
use crate::redirect::SafeRedirect;
use crate::signin::{self, Credentials, SignIn};
use crate::state::AppState;
use crate::tenants;
use crate::throttle::Throttled;
use crate::views::{LoginPage, Reply, next_query};

/// The one message for every failed sign-in.
pub const FAILED: &str = "The organization, email or password is not correct.";
/// The message of a failed CSRF check.
pub const CSRF_FAILED: &str =
    "This form expired or was sent from another site. Please check the fields and submit it again.";

/// The sign-in routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(form).post(submit))
}

struct Form<'a> {
    tenant: &'a str,
    email: &'a str,
    next: &'a SafeRedirect,
}

fn page(
    state: &AppState,
    meta: &Meta,
    status: StatusCode,
    form: &Form<'_>,
    errors: Vec<String>,
) -> Reply {
    let pre = state.csrf.pre_session(&meta.headers);
    let failed = !errors.is_empty();
    Reply::page(
        status,
        &LoginPage {
            errors,
            failed,
            csrf_token: pre.form_token,
            next: form.next.to_string(),
            next_query: next_query(form.next.as_str()),
            tenant: form.tenant.to_owned(),
            email: form.email.to_owned(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

async fn form(
    State(state): State<AppState>,
    meta: Meta,
    query: QueryFields,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(query.opt("next"));
    let attempt = try_refresh(&state, &meta).await?;
    if let RefreshAttempt::Refreshed(session) = &attempt {
        return Ok(signed_in_reply(&state, session, &next)?.into_response());
    }
    let tenant = query
        .opt("tenant")
        .and_then(|t| tenants::TenantSlug::parse(&t.trim().to_lowercase()).ok())
        .map(|s| s.to_string())
        .or_else(|| state.redirects.tenant_hint(&next))
        .unwrap_or_default();
    let reply = page(
        &state,
        &meta,
        StatusCode::OK,
        &Form {
            tenant: &tenant,
            email: "",
            next: &next,
        },
        Vec::new(),
    );
    Ok(match attempt {
        RefreshAttempt::Failed => clear_auth_cookies(&state, reply),
        _ => reply,
    }
    .into_response())
}

/// The 429 page for a throttled attempt.
fn throttled_reply(state: &AppState, meta: &Meta, form: &Form<'_>, t: Throttled) -> Reply {
    let minutes = t.minutes();
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    page(
        state,
        meta,
        StatusCode::TOO_MANY_REQUESTS,
        form,
        vec![format!("Too many attempts; try again in {minutes} {unit}.")],
    )
    .header(
        header::RETRY_AFTER,
        HeaderValue::from_str(&t.retry_after.as_secs().max(1).to_string())
            .unwrap_or(HeaderValue::from_static("60")),
    )
}

async fn submit(
    State(state): State<AppState>,
    meta: Meta,
    fields: FormFields,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(fields.opt("next"));
    let tenant_raw = fields.get("tenant").trim().to_lowercase();
    let email_raw = fields.get("email").trim().to_owned();
    let form = Form {
        tenant: &tenant_raw,
        email: &email_raw,
        next: &next,
    };
    if let Err(failure) = state.csrf.check(&meta.headers, fields.opt("csrf_token")) {
        tracing::info!(?failure, "sign-in refused by the CSRF check");
        return Ok(page(
            &state,
            &meta,
            StatusCode::FORBIDDEN,
            &form,
            vec![CSRF_FAILED.to_owned()],
        )
        .into_response());
    }
    let ctx = meta.event_context();
    let creds = Credentials {
        tenant_slug: &tenant_raw,
        email: &email_raw,
        password: fields.get("password"),
    };
    // The rules (throttle, dummy hash, one answer, audit) live in `signin`, shared
    // with the JSON API.
    match signin::sign_in(&state, creds, meta.ip, &ctx).await? {
        SignIn::Ok(session) => {
            // This browser's previous sign-in, if any, is replaced: end it.
            if let Some(old) = state.cookies.read_refresh(&meta.headers) {
                state.sessions.revoke_by_token(&state.db, &old).await?;
            }
            Ok(signed_in_reply(&state, &session, &next)?.into_response())
        }
        SignIn::Failed => Ok(page(
            &state,
            &meta,
            StatusCode::UNAUTHORIZED,
            &form,
            vec![FAILED.to_owned()],
        )
        .into_response()),
        SignIn::Throttled(t) => Ok(throttled_reply(&state, &meta, &form, t).into_response()),
    }
}
