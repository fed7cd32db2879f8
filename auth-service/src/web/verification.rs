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
use http::StatusCode;

use super::form::CsrfForm;
use super::recovery::{AskCopy, AskForm, LinkInvalidPage, ask_page, prefill};
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

const RESEND: AskCopy = AskCopy {
    title: "Confirm your address",
    intro: "Give your organization and your address; we will mail you a new link to confirm it.",
    action: "/verify-email/resend",
    button: "Send a new link",
    sent_notice: RESEND_SENT,
};

async fn resend_form(State(state): State<AppState>, meta: Meta, uri: http::Uri) -> Response {
    ask_page(&state, &meta.headers, &RESEND, &prefill(&uri), false).into_response()
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
    ask_page(&state, &meta.headers, &RESEND, &form, true).into_response()
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
