//! The second factor's pages: `GET/POST /login/verify` (the step after a correct
//! password, holding only the pending cookie: 5 minutes, single use, this browser) and
//! the account's `/account/mfa` pages (set up an authenticator app with a QR code,
//! confirm it with a first code, see and regenerate recovery codes, remove it with the
//! password); the passkeys' forms are [`super::passkeys`]'. Every rule is
//! [`crate::accounts::mfa`]'s.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::account::{ButtonForm, Visitor, visitor};
use super::form::{CsrfForm, PageForm, PageQuery};
use super::login::replace_previous;
use super::redirect::SafeRedirect;
use super::views::{Reply, next_query};
use super::{signed_in_reply, to_login};
use crate::accounts::mfa::{self, CodeCheck};
use crate::accounts::signin::PasswordCheck;
use crate::error::AppError;
use crate::request::rate_limit::{RateLimited, SignInAttempts};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The pending second step's cookie.
pub const PENDING_COOKIE: &str = "mfa_pending";

/// The second factor's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/verify", get(verify_form).post(verify_submit))
        .route("/login/setup", get(setup_form).post(setup_submit))
        .route("/account/mfa", get(settings))
        .route("/account/mfa/setup", post(setup))
        .route("/account/mfa/confirm", post(confirm))
        .route("/account/mfa/recovery-codes", post(regenerate))
        .route("/account/mfa/disable", post(disable))
}

/// The pending step's cookie (`Path=/login`), or its removal with `max_age` 0.
pub(super) fn pending_cookie(state: &AppState, value: String, max_age: i64) -> Cookie<'static> {
    let mut c = Cookie::new(PENDING_COOKIE, value);
    c.set_path("/login");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(state.cookies.secure);
    c.set_max_age(cookie::time::Duration::seconds(max_age));
    c
}

/// `303 /login/verify?next=…` holding a new pending step for `user` (after `POST /login`).
///
/// # Errors
/// A database failure.
pub async fn start_step(
    state: &AppState,
    user: &crate::infra::entities::user::Model,
    next: &SafeRedirect,
) -> Result<Response, AppError> {
    let token = mfa::issue_challenge(&state.db, user, mfa::WEB).await?;
    Ok(
        Reply::see_other(&format!("/login/verify{}", next_query(next.as_str())))
            .cookie(&pending_cookie(state, token, mfa::CHALLENGE_TTL_SECS))
            .into_response(),
    )
}

/// `303 /login/setup?next=…` holding a pending set-up for `user`, whom the tenant policy
/// requires to have a second factor (after `POST /login`).
///
/// # Errors
/// A database failure.
pub async fn start_setup(
    state: &AppState,
    user: &crate::infra::entities::user::Model,
    next: &SafeRedirect,
) -> Result<Response, AppError> {
    let token = mfa::issue_challenge(&state.db, user, mfa::SETUP).await?;
    Ok(
        Reply::see_other(&format!("/login/setup{}", next_query(next.as_str())))
            .cookie(&pending_cookie(state, token, mfa::CHALLENGE_TTL_SECS))
            .into_response(),
    )
}

/// The set-up the tenant policy requires, between the password and the session.
#[derive(Template, Debug, Default)]
#[template(path = "auth/mfa_setup_login.html")]
pub struct SetupLoginPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// CSRF form token.
    pub csrf_token: String,
    /// Validated `next`.
    pub next: String,
    /// The key as text (empty once done or expired).
    pub secret: String,
    /// The QR code (`<svg>` generated here).
    pub qr: String,
    /// Recovery codes, once set up (the session cookies are set with this page).
    pub codes: Vec<String>,
    /// The pending step expired.
    pub expired: bool,
}

async fn setup_page(
    state: &AppState,
    meta: &Meta,
    status: StatusCode,
    mut page: SetupLoginPage,
) -> Reply {
    let pre = state.csrf.pre_session(&meta.headers);
    page.csrf_token = pre.form_token;
    let expired = page.expired;
    let reply = Reply::page(status, &page).maybe_cookie(pre.new_cookie.as_ref());
    if expired {
        reply.cookie(&pending_cookie(state, String::new(), 0))
    } else {
        reply
    }
}

/// A live pending sign-in: its challenge row, the user and the organization.
type Pending = (
    crate::infra::entities::mfa_challenge::Model,
    crate::infra::entities::user::Model,
    crate::infra::entities::tenant::Model,
);

/// The set-up step's page (with `next`) and the pending sign-in this browser holds, or the
/// `401` "start again" page when it holds none that is live.
async fn setup_step(
    state: &AppState,
    meta: &Meta,
    next: Option<&str>,
) -> Result<Result<(SetupLoginPage, Pending), Response>, AppError> {
    let next = state.redirects.parse_or_root(next);
    let mut page = SetupLoginPage {
        next: next.to_string(),
        ..SetupLoginPage::default()
    };
    let found = match read_pending(&meta.headers) {
        Some(token) => mfa::find_challenge(&state.db, &token, mfa::SETUP).await?,
        None => None,
    };
    match found {
        Some(pending) => Ok(Ok((page, pending))),
        None => {
            page.expired = true;
            page.errors.push(mfa::STEP_EXPIRED.to_owned());
            Ok(Err(setup_page(state, meta, StatusCode::UNAUTHORIZED, page)
                .await
                .into_response()))
        }
    }
}

async fn setup_form(
    State(state): State<AppState>,
    meta: Meta,
    query: PageQuery,
) -> Result<Response, AppError> {
    let (mut page, (_, user, tenant)) =
        match setup_step(&state, &meta, query.next.as_deref()).await? {
            Ok(found) => found,
            Err(expired) => return Ok(expired),
        };
    let setup = match mfa::pending_setup(&state, &user, &tenant).await? {
        Some(s) => Some(s),
        None => mfa::begin_setup(&state, &user, &tenant).await?,
    };
    if let Some(s) = setup {
        page.secret = s.secret_base32;
        page.qr = s.qr_svg;
    }
    Ok(setup_page(&state, &meta, StatusCode::OK, page)
        .await
        .into_response())
}

async fn setup_submit(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<VerifyForm>,
) -> Result<Response, AppError> {
    let (mut page, (challenge, user, tenant)) =
        match setup_step(&state, &meta, form.next.as_deref()).await? {
            Ok(found) => found,
            Err(expired) => return Ok(expired),
        };
    let ctx = meta.event_context();
    match mfa::confirm_setup(&state, &user, &form.code, &ctx).await? {
        Ok(codes) => {
            let Some(session) = mfa::complete(&state, &challenge, user, tenant, &ctx).await? else {
                page.expired = true;
                page.errors.push(mfa::STEP_EXPIRED.to_owned());
                return Ok(setup_page(&state, &meta, StatusCode::UNAUTHORIZED, page)
                    .await
                    .into_response());
            };
            replace_previous(&state, &meta).await?;
            page.codes = codes;
            let reply = setup_page(&state, &meta, StatusCode::OK, page)
                .await
                .cookie(&pending_cookie(&state, String::new(), 0));
            Ok(super::with_session_cookies(&state, reply, &session)?.into_response())
        }
        Err(message) => {
            page.errors.push(message.to_owned());
            if let Some(s) = mfa::pending_setup(&state, &user, &tenant).await? {
                page.secret = s.secret_base32;
                page.qr = s.qr_svg;
            }
            Ok(setup_page(&state, &meta, StatusCode::BAD_REQUEST, page)
                .await
                .into_response())
        }
    }
}

/// The pending step's token from this browser's cookie.
pub(super) fn read_pending(headers: &HeaderMap) -> Option<String> {
    shared_jwt::cookies::read_cookie(headers, PENDING_COOKIE)
        .into_iter()
        .next()
}

/// The code form after the password.
#[derive(Template, Debug)]
#[template(path = "auth/mfa_verify.html")]
pub struct VerifyPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// CSRF form token.
    pub csrf_token: String,
    /// Validated `next`.
    pub next: String,
    /// The step expired: only a link back to the sign-in.
    pub expired: bool,
    /// The user has a passkey (offer it).
    pub passkey: bool,
}

/// The `/login/verify` page (with the passkey button when `passkey`).
pub(super) fn verify_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &SafeRedirect,
    error: Option<&str>,
    (expired, passkey): (bool, bool),
) -> Reply {
    let pre = state.csrf.pre_session(headers);
    let reply = Reply::page(
        status,
        &VerifyPage {
            errors: error.map(str::to_owned).into_iter().collect(),
            csrf_token: pre.form_token,
            next: next.to_string(),
            expired,
            passkey: passkey && !expired && state.passkeys.enabled(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref());
    if expired {
        reply.cookie(&pending_cookie(state, String::new(), 0))
    } else {
        reply
    }
}

async fn verify_form(
    State(state): State<AppState>,
    meta: Meta,
    query: PageQuery,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(query.next.as_deref());
    let live = match read_pending(&meta.headers) {
        Some(token) => mfa::find_challenge(&state.db, &token, mfa::WEB).await?,
        None => None,
    };
    let Some((_, user, _)) = live else {
        return Ok(verify_page(
            &state,
            &meta.headers,
            StatusCode::UNAUTHORIZED,
            &next,
            Some(mfa::STEP_EXPIRED),
            (true, false),
        )
        .into_response());
    };
    let passkey = mfa::passkey_count(&state.db, user.id).await? > 0;
    Ok(verify_page(
        &state,
        &meta.headers,
        StatusCode::OK,
        &next,
        None,
        (false, passkey),
    )
    .into_response())
}

/// `POST /login/verify`'s fields.
#[derive(Debug)]
pub struct VerifyForm {
    /// An authenticator code or a recovery code.
    pub code: String,
    /// Where to go afterwards (unvalidated).
    pub next: Option<String>,
}

impl PageForm for VerifyForm {
    fn parse(f: &Fields) -> Self {
        Self {
            code: f.get("code").trim().to_owned(),
            next: f.opt("next"),
        }
    }
}

async fn verify_submit(
    _: RateLimited<SignInAttempts>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<VerifyForm>,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(form.next.as_deref());
    let found = match read_pending(&meta.headers) {
        Some(token) => mfa::find_challenge(&state.db, &token, mfa::WEB).await?,
        None => None,
    };
    let passkey = match &found {
        Some((_, user, _)) => mfa::passkey_count(&state.db, user.id).await? > 0,
        None => false,
    };
    let page = |status, error, expired| {
        verify_page(
            &state,
            &meta.headers,
            status,
            &next,
            Some(error),
            (expired, passkey),
        )
        .into_response()
    };
    let Some((challenge, user, tenant)) = found else {
        return Ok(page(StatusCode::UNAUTHORIZED, mfa::STEP_EXPIRED, true));
    };
    let ctx = meta.event_context();
    match mfa::check_code(&state, &user, &tenant, &form.code, meta.ip, &ctx).await? {
        CodeCheck::Wrong => Ok(page(StatusCode::UNAUTHORIZED, mfa::WRONG_CODE, false)),
        CodeCheck::Throttled(t) => Ok(verify_page(
            &state,
            &meta.headers,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(&t.message()),
            (false, passkey),
        )
        .header(header::RETRY_AFTER, HeaderValue::from(t.retry_after_secs()))
        .into_response()),
        CodeCheck::Totp | CodeCheck::Recovery(_) => {
            let Some(session) = mfa::complete(&state, &challenge, user, tenant, &ctx).await? else {
                return Ok(page(StatusCode::UNAUTHORIZED, mfa::STEP_EXPIRED, true));
            };
            replace_previous(&state, &meta).await?;
            Ok(signed_in_reply(&state, &session, &next)?
                .cookie(&pending_cookie(&state, String::new(), 0))
                .into_response())
        }
    }
}

/// The account's second-factor page.
#[derive(Template, Debug, Default)]
#[template(path = "auth/mfa.html")]
pub struct MfaPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// A confirmation.
    pub notice: Option<String>,
    /// CSRF form token.
    pub csrf_token: String,
    /// An authenticator app is set up.
    pub enabled: bool,
    /// Unused recovery codes.
    pub codes_left: u64,
    /// A set-up in progress: the key as text.
    pub setup_secret: Option<String>,
    /// A set-up in progress: the QR code (`<svg>` generated here, not user input).
    pub setup_qr: String,
    /// New recovery codes, shown once.
    pub codes: Vec<String>,
    /// Passkeys work on this server.
    pub passkeys_enabled: bool,
    /// The user's passkeys.
    pub passkeys: Vec<PasskeyRow>,
    /// Any second factor (app or passkey): recovery codes make sense.
    pub any_factor: bool,
}

/// One passkey on the account page.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    /// Its id (the rename and remove forms' target).
    pub id: String,
    /// The user's name for it.
    pub name: String,
    /// When it was added.
    pub created: String,
    /// When it last signed in, or "never".
    pub last_used: String,
}

fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The account's second-factor page with `page`'s messages.
///
/// # Errors
/// A database failure, or a signing failure of rotated cookies.
pub async fn render(
    state: &AppState,
    meta: &Meta,
    me: &Visitor,
    status: StatusCode,
    mut page: MfaPage,
) -> Result<Response, AppError> {
    page.enabled = mfa::has_totp(&state.db, me.user.id).await?;
    page.passkeys_enabled = state.passkeys.enabled();
    page.passkeys = crate::accounts::passkeys::list(&state.db, me.user.id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id.to_string(),
            name: p.name,
            created: format_time(p.created_at),
            last_used: p
                .last_used_at
                .map_or_else(|| "never".to_owned(), format_time),
        })
        .collect();
    page.any_factor = page.enabled || !page.passkeys.is_empty();
    page.codes_left = mfa::recovery_codes_left(&state.db, me.user.id).await?;
    let pre = state.csrf.pre_session(&meta.headers);
    page.csrf_token = pre.form_token;
    let reply = Reply::page(status, &page).maybe_cookie(pre.new_cookie.as_ref());
    Ok(me.reply(state, reply)?.into_response())
}

async fn settings(State(state): State<AppState>, meta: Meta) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    render(&state, &meta, &me, StatusCode::OK, MfaPage::default()).await
}

async fn setup(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let mut page = MfaPage::default();
    match mfa::begin_setup(&state, &me.user, &me.tenant).await? {
        Some(s) => {
            page.setup_secret = Some(s.secret_base32);
            page.setup_qr = s.qr_svg;
        }
        None => page
            .errors
            .push("An authenticator app is already set up.".to_owned()),
    }
    render(&state, &meta, &me, StatusCode::OK, page).await
}

/// A form with one `code` or `password` field.
#[derive(Debug)]
pub struct OneField(pub String);

impl PageForm for OneField {
    fn parse(f: &Fields) -> Self {
        let code = f.get("code");
        Self(if code.is_empty() {
            f.get("password").to_owned()
        } else {
            code.trim().to_owned()
        })
    }
}

async fn confirm(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(OneField(code)): CsrfForm<OneField>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let mut page = MfaPage::default();
    match mfa::confirm_setup(&state, &me.user, &code, &meta.event_context()).await? {
        Ok(codes) => {
            page.notice = Some(
                "Your authenticator app is set up. Keep these recovery codes somewhere safe: they are shown only once."
                    .to_owned(),
            );
            page.codes = codes;
            render(&state, &meta, &me, StatusCode::OK, page).await
        }
        Err(message) => {
            page.errors.push(message.to_owned());
            if let Some(s) = mfa::pending_setup(&state, &me.user, &me.tenant).await? {
                page.setup_secret = Some(s.secret_base32);
                page.setup_qr = s.qr_svg;
            }
            render(&state, &meta, &me, StatusCode::BAD_REQUEST, page).await
        }
    }
}

async fn regenerate(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let mut page = MfaPage::default();
    let status = match mfa::regenerate_codes(&state, &me.user, &meta.event_context()).await? {
        Some(codes) => {
            page.notice = Some(
                "New recovery codes: the old ones no longer work. They are shown only once."
                    .to_owned(),
            );
            page.codes = codes;
            StatusCode::OK
        }
        None => {
            page.errors
                .push("Set up an authenticator app or a passkey first.".to_owned());
            StatusCode::BAD_REQUEST
        }
    };
    render(&state, &meta, &me, status, page).await
}

async fn disable(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(OneField(password)): CsrfForm<OneField>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let ctx = meta.event_context();
    let mut page = MfaPage::default();
    match mfa::disable(&state, &me.user, &me.tenant, &password, meta.ip, &ctx).await? {
        None => {
            page.errors.push(mfa::POLICY_REQUIRES.to_owned());
            render(&state, &meta, &me, StatusCode::FORBIDDEN, page).await
        }
        Some(PasswordCheck::Ok) => {
            page.notice = Some("The authenticator app was removed.".to_owned());
            render(&state, &meta, &me, StatusCode::OK, page).await
        }
        Some(PasswordCheck::Wrong) => {
            page.errors.push("The password is not correct.".to_owned());
            render(&state, &meta, &me, StatusCode::BAD_REQUEST, page).await
        }
        Some(PasswordCheck::Throttled(t)) => {
            page.errors.push(t.message());
            render(&state, &meta, &me, StatusCode::TOO_MANY_REQUESTS, page).await
        }
    }
}
