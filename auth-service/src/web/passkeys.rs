//! The passkeys' routes. Each ceremony is two requests: `…/options` (a form POST with the
//! CSRF token, made by `/static/passkeys.js`) answers the JSON options for
//! `navigator.credentials` and sets the `passkey_state` cookie (`HttpOnly`, 5 minutes,
//! the token of the ceremony's stored state); then the page's form posts the browser's
//! answer (`credential`, JSON) and gets a page or a redirect, like every form here.
//!
//! - `POST /account/passkeys/options`, `POST /account/passkeys` (name + answer): add one;
//!   `POST /account/passkeys/{id}/rename` (name), `…/{id}/remove` (password): manage them
//!   (on `/account/mfa`).
//! - `POST /login/verify/passkey/options`, `POST /login/verify/passkey`: the second step
//!   after the password (the `mfa_pending` cookie), counted like a code.
//! - `POST /login/passkey/options`, `POST /login/passkey`: "Sign in with a passkey"
//!   (no user name), ending like a sign-in with the password and a second factor: both
//!   cookies and `303 next` (the same `next` rule).
//! - `GET /static/passkeys.js`: the script (same origin: the CSP allows no inline script).
//!
//! Every rule is [`crate::accounts::passkeys`]'.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sea_orm::{ActiveModelTrait as _, IntoActiveModel as _, Set, TransactionTrait as _};
use serde_json::json;
use uuid::Uuid;

use super::account::{ButtonForm, visitor};
use super::form::{CsrfForm, PageForm};
use super::login::replace_previous;
use super::mfa::{MfaPage, pending_cookie, read_pending, render, verify_page};
use super::views::{LoginPage, Reply, next_query};
use super::{signed_in_reply, to_login};
use crate::accounts::mfa::{self, PasskeyCheck};
use crate::accounts::passkeys::{self, Started};
use crate::accounts::signin::{self, PasswordCheck};
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent};
use crate::request::rate_limit::{RateLimited, SignInAttempts};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The cookie holding the token of the ceremony in flight.
pub const STATE_COOKIE: &str = "passkey_state";
/// The script.
pub const PASSKEYS_JS: &str = include_str!("../../../templates/static/passkeys.js");

/// The passkeys' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/passkeys.js", get(script))
        .route("/account/passkeys/options", post(register_options))
        .route("/account/passkeys", post(register))
        .route("/account/passkeys/{id}/rename", post(rename))
        .route("/account/passkeys/{id}/remove", post(remove))
        .route("/login/verify/passkey/options", post(verify_options))
        .route("/login/verify/passkey", post(verify))
        .route("/login/passkey/options", post(login_options))
        .route("/login/passkey", post(login))
}

async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        PASSKEYS_JS,
    )
        .into_response()
}

fn state_cookie(state: &AppState, value: String, max_age: i64) -> Cookie<'static> {
    let mut c = Cookie::new(STATE_COOKIE, value);
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(state.cookies.secure);
    c.set_max_age(cookie::time::Duration::seconds(max_age));
    c
}

fn read_state(headers: &HeaderMap) -> String {
    shared_jwt::cookies::read_cookie(headers, STATE_COOKIE)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// The options as JSON with the state cookie, or `status {"detail"}`.
fn options_reply(
    state: &AppState,
    started: Result<Started, &'static str>,
    refused: StatusCode,
) -> Response {
    match started {
        Ok(s) => {
            let cookie = state_cookie(state, s.token, passkeys::CHALLENGE_TTL_SECS);
            let mut res = Json(s.options).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(detail) => (refused, Json(json!({ "detail": detail }))).into_response(),
    }
}

/// A reply that also deletes the state cookie (the ceremony is spent).
fn spent(state: &AppState, reply: Reply) -> Reply {
    reply.cookie(&state_cookie(state, String::new(), 0))
}

async fn register_options(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let Ok(me) = visitor(&state, &meta).await? else {
        let body = json!({ "detail": "Sign in first." });
        return Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    };
    let started = passkeys::start_registration(&state.passkeys, &state.db, &me.user).await?;
    Ok(options_reply(&state, started, StatusCode::BAD_REQUEST))
}

/// `POST /account/passkeys`' fields.
#[derive(Debug)]
pub struct AddForm {
    /// The name typed.
    pub name: String,
    /// The browser's answer (JSON).
    pub credential: String,
}

impl PageForm for AddForm {
    fn parse(f: &Fields) -> Self {
        Self {
            name: f.get("name").to_owned(),
            credential: f.get("credential").to_owned(),
        }
    }
}

async fn register(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let token = read_state(&meta.headers);
    let added = passkeys::finish_registration(
        &state.passkeys,
        &state.db,
        &me.user,
        &token,
        &form.name,
        &form.credential,
        &meta.event_context(),
    )
    .await?;
    let mut page = MfaPage::default();
    let status = match added {
        Ok(row) => {
            page.notice = Some(format!("Passkey “{}” added.", row.name));
            StatusCode::OK
        }
        Err(message) => {
            page.errors.push(message.to_owned());
            StatusCode::BAD_REQUEST
        }
    };
    let res = render(&state, &meta, &me, status, page).await?;
    Ok(with_cookie(res, &state_cookie(&state, String::new(), 0)))
}

fn with_cookie(mut res: Response, cookie: &Cookie<'_>) -> Response {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A form with a `name`.
#[derive(Debug)]
pub struct NameForm(pub String);

impl PageForm for NameForm {
    fn parse(f: &Fields) -> Self {
        Self(f.get("name").to_owned())
    }
}

fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

async fn rename(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    CsrfForm(NameForm(name)): CsrfForm<NameForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let id = parse_id(&id)?;
    let mut page = MfaPage::default();
    let status = match passkeys::rename(&state.db, &me.user, id, &name).await? {
        Ok(()) => {
            page.notice = Some("Passkey renamed.".to_owned());
            StatusCode::OK
        }
        Err(passkeys::NOT_FOUND) => return Err(AppError::NotFound),
        Err(message) => {
            page.errors.push(message.to_owned());
            StatusCode::BAD_REQUEST
        }
    };
    render(&state, &meta, &me, status, page).await
}

/// A form with a `password`.
#[derive(Debug)]
pub struct PasswordForm(pub String);

impl PageForm for PasswordForm {
    fn parse(f: &Fields) -> Self {
        Self(f.get("password").to_owned())
    }
}

async fn remove(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    CsrfForm(PasswordForm(password)): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let id = parse_id(&id)?;
    let ctx = meta.event_context();
    let mut page = MfaPage::default();
    // The last factor under the policy: refused before the password is checked.
    let last = !mfa::has_totp(&state.db, me.user.id).await?
        && mfa::passkey_count(&state.db, me.user.id).await? <= 1;
    if last && mfa::policy_requires(&me.tenant, &me.user) {
        page.errors.push(mfa::POLICY_REQUIRES.to_owned());
        return render(&state, &meta, &me, StatusCode::FORBIDDEN, page).await;
    }
    let check =
        signin::check_password(&state, &me.user, &me.tenant, &password, meta.ip, &ctx).await?;
    let status = match check {
        PasswordCheck::Ok => {
            match passkeys::remove(&state.db, &me.user, &me.tenant, id, &ctx).await? {
                Ok(name) => {
                    page.notice = Some(format!("Passkey “{name}” removed."));
                    StatusCode::OK
                }
                Err(passkeys::NOT_FOUND) => return Err(AppError::NotFound),
                Err(message) => {
                    page.errors.push(message.to_owned());
                    StatusCode::FORBIDDEN
                }
            }
        }
        PasswordCheck::Wrong => {
            page.errors.push("The password is not correct.".to_owned());
            StatusCode::BAD_REQUEST
        }
        PasswordCheck::Throttled(t) => {
            page.errors.push(t.message());
            StatusCode::TOO_MANY_REQUESTS
        }
    };
    render(&state, &meta, &me, status, page).await
}

async fn verify_options(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let found = match read_pending(&meta.headers) {
        Some(token) => mfa::find_challenge(&state.db, &token, mfa::WEB).await?,
        None => None,
    };
    let Some((_, user, _)) = found else {
        let body = json!({ "detail": mfa::STEP_EXPIRED });
        return Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    };
    let started = passkeys::start_verification(&state.passkeys, &state.db, &user).await?;
    Ok(options_reply(&state, started, StatusCode::BAD_REQUEST))
}

/// The answer of a sign-in ceremony and where to go.
#[derive(Debug)]
pub struct AnswerForm {
    /// The browser's answer (JSON).
    pub credential: String,
    /// Where to go afterwards (unvalidated).
    pub next: Option<String>,
}

impl PageForm for AnswerForm {
    fn parse(f: &Fields) -> Self {
        Self {
            credential: f.get("credential").to_owned(),
            next: f.opt("next"),
        }
    }
}

async fn verify(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(form.next.as_deref());
    let found = match read_pending(&meta.headers) {
        Some(token) => mfa::find_challenge(&state.db, &token, mfa::WEB).await?,
        None => None,
    };
    let page = |status, error: &str, expired| {
        let reply = verify_page(
            &state,
            &meta.headers,
            status,
            &next,
            Some(error),
            (expired, true),
        );
        spent(&state, reply)
    };
    let Some((challenge, user, tenant)) = found else {
        return Ok(page(StatusCode::UNAUTHORIZED, mfa::STEP_EXPIRED, true).into_response());
    };
    let ctx = meta.event_context();
    let token = read_state(&meta.headers);
    let check = mfa::check_passkey(
        &state,
        &user,
        &tenant,
        &token,
        &form.credential,
        meta.ip,
        &ctx,
    )
    .await?;
    match check {
        PasskeyCheck::Refused(message) => {
            Ok(page(StatusCode::UNAUTHORIZED, message, false).into_response())
        }
        PasskeyCheck::Throttled(t) => Ok(page(StatusCode::TOO_MANY_REQUESTS, &t.message(), false)
            .header(header::RETRY_AFTER, HeaderValue::from(t.retry_after_secs()))
            .into_response()),
        PasskeyCheck::Ok(_) => {
            let completed =
                mfa::complete_with(&state, &challenge, user, tenant, &ctx, mfa::AMR_PASSKEY)
                    .await?;
            let Some(session) = completed else {
                return Ok(page(StatusCode::UNAUTHORIZED, mfa::STEP_EXPIRED, true).into_response());
            };
            replace_previous(&state, &meta).await?;
            let reply = signed_in_reply(&state, &session, &next)?.cookie(&pending_cookie(
                &state,
                String::new(),
                0,
            ));
            Ok(spent(&state, reply).into_response())
        }
    }
}

async fn login_options(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let started = passkeys::start_login(&state.passkeys, &state.db).await?;
    Ok(options_reply(&state, started, StatusCode::BAD_REQUEST))
}

/// The `amr` of a passwordless passkey sign-in (user verification is required, so the
/// passkey is two factors: possession and the authenticator's PIN or biometric).
pub const AMR_PASSWORDLESS: &str = "hwk mfa";

async fn login(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(form.next.as_deref());
    let ctx = meta.event_context();
    let token = read_state(&meta.headers);
    let used =
        passkeys::finish_login(&state.passkeys, &state.db, &token, &form.credential, &ctx).await?;
    let used = match used {
        Ok(u) => u,
        Err(message) => {
            audit::record(
                &state.db,
                AuditEvent::LoginFailure,
                None,
                None,
                &ctx,
                Some(format!("passkey: {message}")),
            )
            .await?;
            crate::infra::metrics::sign_in("failure");
            let pre = state.csrf.pre_session(&meta.headers);
            let reply = Reply::page(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    failed: false,
                    unverified: false,
                    errors: vec![message.to_owned()],
                    csrf_token: pre.form_token,
                    next: next.to_string(),
                    next_query: next_query(next.as_str()),
                    tenant: String::new(),
                    email: String::new(),
                    passkeys: state.passkeys.enabled(),
                },
            )
            .maybe_cookie(pre.new_cookie.as_ref());
            return Ok(spent(&state, reply).into_response());
        }
    };
    let txn = state.db.begin().await?;
    let mut model = used.user.into_active_model();
    model.last_login_at = Set(Some(chrono::Utc::now()));
    let user = model.update(&txn).await?;
    let session = state
        .sessions
        .start_with_amr(&txn, user, used.tenant, &ctx, AMR_PASSWORDLESS)
        .await?;
    audit::record(
        &txn,
        AuditEvent::LoginSuccess,
        Some(session.tenant.id),
        Some(session.user.id),
        &ctx,
        Some(format!("passkey “{}”", used.name)),
    )
    .await?;
    txn.commit().await?;
    crate::infra::metrics::sign_in("success");
    replace_previous(&state, &meta).await?;
    Ok(spent(&state, signed_in_reply(&state, &session, &next)?).into_response())
}
