//! `GET /verify-email?token=…` (address verification and address change: one URL for
//! both kinds of link) and `GET/POST /verify-email/resend`; the rules are
//! [`verification`]'s.
//!
//! The resend page answers like the forgot page: the same `200` page and wording for
//! every request, the work done in a spawned task. A link that does not work gets one
//! `400` page offering to ask again.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode};

use super::form::CsrfForm;
use super::recovery::{AskForm, AskLinkPage, LinkInvalidPage, prefill};
use super::views::Reply;
use crate::accounts::verification::{self, ADDRESS_TAKEN, Verification};
use crate::error::AppError;
use crate::request::rate_limit::{PasswordResets, RateLimited};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The verification routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify-email", get(verify))
        .route("/verify-email/resend", get(resend_form).post(resend_submit))
}

/// What the resend page says after every request.
pub const RESEND_SENT: &str = "If an account with this address in this organization is still waiting \
for confirmation, we have sent it a new link. The link works for 24 hours.";

fn resend_page(state: &AppState, headers: &HeaderMap, typed: &AskForm, sent: bool) -> Reply {
    let pre = state.csrf.pre_session(headers);
    Reply::page(
        StatusCode::OK,
        &AskLinkPage {
            errors: Vec::new(),
            title: "Confirm your address",
            intro: "Give your organization and your address; we will mail you a new link to confirm it.",
            action: "/verify-email/resend",
            button: "Send a new link",
            sent,
            sent_notice: RESEND_SENT,
            csrf_token: pre.form_token,
            tenant: typed.tenant.clone(),
            email: typed.email.clone(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

async fn resend_form(State(state): State<AppState>, meta: Meta, uri: http::Uri) -> Response {
    resend_page(&state, &meta.headers, &prefill(&uri), false).into_response()
}

async fn resend_submit(
    _: RateLimited<PasswordResets>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<AskForm>,
) -> Response {
    verification::spawn_resend(
        &state,
        form.tenant.clone(),
        form.email.clone(),
        meta.event_context(),
    );
    resend_page(&state, &meta.headers, &form, true).into_response()
}

fn invalid(message: &'static str, again_href: &'static str, again_label: &'static str) -> Response {
    Reply::page(
        StatusCode::BAD_REQUEST,
        &LinkInvalidPage {
            message,
            again_href,
            again_label,
        },
    )
    .into_response()
}

async fn verify(
    State(state): State<AppState>,
    meta: Meta,
    uri: http::Uri,
) -> Result<Response, AppError> {
    let token = Fields::parse(uri.query().unwrap_or("").as_bytes())
        .get("token")
        .to_owned();
    match verification::verify(&state, &token, &meta.event_context()).await? {
        Verification::Verified(_) | Verification::Changed(_) => {
            Ok(Reply::see_other("/").into_response())
        }
        Verification::InvalidLink => Ok(invalid(
            "This confirmation link is not valid any more: it may have been used already, \
replaced by a newer one, or expired (links work for 24 hours).",
            "/verify-email/resend",
            "Send a new confirmation link",
        )),
        Verification::AddressTaken => Ok(invalid(ADDRESS_TAKEN, "/", "Back to your account")),
    }
}
