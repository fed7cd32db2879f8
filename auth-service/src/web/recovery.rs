//! `GET/POST /password/forgot` and `GET/POST /password/reset?token=…` (CONTRACT.md
//! "Account lifecycle"); the rules are [`recovery`]'s.
//!
//! The forgot page answers every request with the same `200` page and wording, and
//! before any lookup: the request runs in a spawned task, so neither the answer nor
//! its timing tells whether the account exists. The reset page answers a link that
//! does not work with one `400` page offering to ask again; field errors re-render the
//! form with `422`; success signs in and sends `303 /`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::form::{CsrfForm, PageForm};
use super::login::replace_previous;
use super::signed_in_reply;
use super::views::Reply;
use crate::accounts::recovery::{self, Reset};
use crate::error::AppError;
use crate::request::rate_limit::{PasswordResets, RateLimited};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The password-reset routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", get(forgot_form).post(forgot_submit))
        .route("/password/reset", get(reset_form).post(reset_submit))
}

/// What the forgot page says after every request.
pub const RESET_SENT: &str = "If an active account with this address exists in this organization, \
we have sent it a link to choose a new password. The link works for 30 minutes.";

/// The page that asks for a mailed link (forgot password, resend the confirmation).
#[derive(Template, Debug, Default)]
#[template(path = "auth/ask_link.html")]
pub struct AskLinkPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// Heading.
    pub title: &'static str,
    /// What the form does.
    pub intro: &'static str,
    /// Where it posts.
    pub action: &'static str,
    /// The button.
    pub button: &'static str,
    /// Whether a request was made (shows [`AskLinkPage::sent_notice`]).
    pub sent: bool,
    /// The one answer to every request.
    pub sent_notice: &'static str,
    /// CSRF form token.
    pub csrf_token: String,
    /// Typed or pre-filled.
    pub tenant: String,
    /// Typed or pre-filled.
    pub email: String,
}

/// The page for a link that does not work.
#[derive(Template, Debug)]
#[template(path = "auth/link_invalid.html")]
pub struct LinkInvalidPage {
    /// What happened.
    pub message: &'static str,
    /// Where to ask again (a fixed path).
    pub again_href: &'static str,
    /// The link's text.
    pub again_label: &'static str,
}

/// The reset form.
#[derive(Template, Debug, Default)]
#[template(path = "auth/reset.html")]
pub struct ResetPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// CSRF form token.
    pub csrf_token: String,
    /// The token of the link (checked live before the page is shown).
    pub token: String,
    /// Whose password.
    pub email: String,
    /// Which organization.
    pub organization: String,
    /// New password's message.
    pub password_error: Option<String>,
    /// Confirmation's message.
    pub confirm_error: Option<String>,
}

/// The organization and address of an ask-for-a-link form.
#[derive(Debug, Default)]
pub struct AskForm {
    /// Organization slug as typed.
    pub tenant: String,
    /// Address as typed.
    pub email: String,
}

impl PageForm for AskForm {
    fn parse(f: &Fields) -> Self {
        Self {
            tenant: f.get("tenant").trim().to_lowercase(),
            email: f.get("email").trim().to_owned(),
        }
    }
}

/// The `?tenant=&email=` of a link to an ask page (pre-fill only).
pub fn prefill(uri: &http::Uri) -> AskForm {
    let f = Fields::parse(uri.query().unwrap_or("").as_bytes());
    let clip = |v: &str, n: usize| v.trim().chars().take(n).collect::<String>();
    AskForm {
        tenant: clip(f.get("tenant"), 63).to_lowercase(),
        email: clip(f.get("email"), 254),
    }
}

/// The words of a "mail me a link" page (forgot password, resend the confirmation).
pub struct AskCopy {
    /// Heading and title.
    pub title: &'static str,
    /// The sentence under the heading.
    pub intro: &'static str,
    /// Where the form posts.
    pub action: &'static str,
    /// The button.
    pub button: &'static str,
    /// What the page says after every request (the same whether or not a mail went out).
    pub sent_notice: &'static str,
}

/// An ask-for-a-link page, pre-filled with `typed`; `sent` adds the notice.
pub fn ask_page(
    state: &AppState,
    headers: &HeaderMap,
    copy: &AskCopy,
    typed: &AskForm,
    sent: bool,
) -> Reply {
    let pre = state.csrf.pre_session(headers);
    Reply::page(
        StatusCode::OK,
        &AskLinkPage {
            errors: Vec::new(),
            title: copy.title,
            intro: copy.intro,
            action: copy.action,
            button: copy.button,
            sent,
            sent_notice: copy.sent_notice,
            csrf_token: pre.form_token,
            tenant: typed.tenant.clone(),
            email: typed.email.clone(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

const FORGOT: AskCopy = AskCopy {
    title: "Forgot your password?",
    intro: "Give your organization and the address you sign in with; we will mail you a link to choose a new password.",
    action: "/password/forgot",
    button: "Send me a link",
    sent_notice: RESET_SENT,
};

async fn forgot_form(State(state): State<AppState>, meta: Meta, uri: http::Uri) -> Response {
    ask_page(&state, &meta.headers, &FORGOT, &prefill(&uri), false).into_response()
}

async fn forgot_submit(
    _: RateLimited<PasswordResets>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<AskForm>,
) -> Response {
    // Answer first: the lookup, the link and the mail happen after, in a task.
    recovery::spawn_request(
        &state,
        form.tenant.clone(),
        form.email.clone(),
        meta.event_context(),
    );
    ask_page(&state, &meta.headers, &FORGOT, &form, true).into_response()
}

/// The `400` page for a reset link that does not work.
#[must_use]
pub fn invalid_reset_link() -> Response {
    Reply::page(
        StatusCode::BAD_REQUEST,
        &LinkInvalidPage {
            message: "This password-reset link is not valid any more: it may have been used already, \
replaced by a newer one, or expired (links work for 30 minutes).",
            again_href: "/password/forgot",
            again_label: "Ask for a new link",
        },
    )
    .into_response()
}

/// The reset page keeps its token out of `Referer` headers.
fn no_referrer(reply: Reply) -> Reply {
    reply.header(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    )
}

fn reset_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    page: ResetPage,
) -> Response {
    let pre = state.csrf.pre_session(headers);
    let page = ResetPage {
        csrf_token: pre.form_token,
        ..page
    };
    no_referrer(Reply::page(status, &page))
        .maybe_cookie(pre.new_cookie.as_ref())
        .into_response()
}

async fn reset_form(
    State(state): State<AppState>,
    meta: Meta,
    uri: http::Uri,
) -> Result<Response, AppError> {
    let token = Fields::parse(uri.query().unwrap_or("").as_bytes())
        .get("token")
        .to_owned();
    match recovery::check_link(&state, &token).await {
        Ok((tenant, user)) => Ok(reset_page(
            &state,
            &meta.headers,
            StatusCode::OK,
            ResetPage {
                token,
                email: user.email,
                organization: tenant.name,
                ..ResetPage::default()
            },
        )),
        Err(crate::accounts::links::LinkError::Invalid) => Ok(invalid_reset_link()),
        Err(crate::accounts::links::LinkError::Db(e)) => Err(e.into()),
    }
}

/// `POST /password/reset`'s fields.
#[derive(Debug, Default)]
pub struct ResetForm {
    /// The link's token.
    pub token: String,
    /// The new password.
    pub password: String,
    /// Its confirmation.
    pub password_confirm: String,
}

impl PageForm for ResetForm {
    fn parse(f: &Fields) -> Self {
        Self {
            token: f.get("token").to_owned(),
            password: f.get("password").to_owned(),
            password_confirm: f.get("password_confirm").to_owned(),
        }
    }
}

async fn reset_submit(
    _: RateLimited<PasswordResets>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, AppError> {
    let (tenant, user) = match recovery::check_link(&state, &form.token).await {
        Ok(found) => found,
        Err(crate::accounts::links::LinkError::Invalid) => return Ok(invalid_reset_link()),
        Err(crate::accounts::links::LinkError::Db(e)) => return Err(e.into()),
    };
    let refuse = |password_error: Option<String>, confirm_error: Option<String>| {
        reset_page(
            &state,
            &meta.headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            ResetPage {
                errors: vec!["Please correct the fields marked below.".to_owned()],
                token: form.token.clone(),
                email: user.email.clone(),
                organization: tenant.name.clone(),
                password_error,
                confirm_error,
                ..ResetPage::default()
            },
        )
    };
    if form.password.is_empty() {
        return Ok(refuse(Some("This field is required.".to_owned()), None));
    }
    if form.password != form.password_confirm {
        return Ok(refuse(None, Some("The passwords do not match.".to_owned())));
    }
    let ctx = meta.event_context();
    match recovery::reset_password(&state, &form.token, &form.password, &ctx).await? {
        Reset::Done { user, tenant } => {
            // This browser's previous sign-in (if any, of any account) ends too.
            replace_previous(&state, &meta).await?;
            let session = state
                .sessions
                .start(&state.db, *user, *tenant, &ctx)
                .await?;
            let root = state.redirects.parse_or_root(None);
            Ok(signed_in_reply(&state, &session, &root)?.into_response())
        }
        Reset::InvalidLink => Ok(invalid_reset_link()),
        Reset::WeakPassword(message) => Ok(refuse(Some(message), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefill_is_trimmed_lowercased_and_clipped() {
        let uri: http::Uri = "/password/forgot?tenant=%20ACME%20&email=Ada%40acme.test"
            .parse()
            .unwrap();
        let f = prefill(&uri);
        assert_eq!(
            (f.tenant.as_str(), f.email.as_str()),
            ("acme", "Ada@acme.test")
        );
        let long: http::Uri = format!(
            "/password/forgot?tenant={}&email={}",
            "a".repeat(500),
            "b".repeat(500)
        )
        .parse()
        .unwrap();
        let f = prefill(&long);
        assert_eq!((f.tenant.len(), f.email.len()), (63, 254));
        let none = prefill(&"/password/forgot".parse().unwrap());
        assert!(none.tenant.is_empty() && none.email.is_empty());
    }
}
