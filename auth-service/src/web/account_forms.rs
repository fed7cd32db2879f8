//! The account page's change forms: `POST /account/password` (current, new, confirm:
//! every other sign-in of the user ends, this one stays) and `POST /account/email`
//! (current password and the new address: a link goes to the new address, which
//! replaces the old one only when the link is used — see [`verification`]). Wrong
//! input re-renders the account page with the form's messages (`422`, or `429` when the
//! password checks are throttled); success re-renders it with a notice.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderValue, StatusCode, header};

use super::account::{Visitor, render, visitor};
use super::form::{CsrfForm, PageForm};
use super::to_login;
use super::views::{AccountForms, EmailErrors, PasswordErrors};
use crate::accounts::profile::{self, Account, PasswordChange, PasswordField};
use crate::accounts::throttle::Throttled;
use crate::accounts::verification::{self, EmailChange, EmailField};
use crate::error::AppError;
use crate::request::rate_limit::{PasswordChanges, RateLimited};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The account page's change routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/password", post(change_password))
        .route("/account/email", post(change_email))
}

/// `POST /account/password`'s fields.
#[derive(Debug, Default)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

impl PageForm for PasswordForm {
    fn parse(f: &Fields) -> Self {
        Self {
            current: f.get("current_password").to_owned(),
            new: f.get("new_password").to_owned(),
            confirm: f.get("new_password_confirm").to_owned(),
        }
    }
}

/// `POST /account/email`'s fields.
#[derive(Debug, Default)]
pub struct EmailForm {
    password: String,
    email: String,
}

impl PageForm for EmailForm {
    fn parse(f: &Fields) -> Self {
        Self {
            password: f.get("password").to_owned(),
            email: f.get("new_email").trim().chars().take(300).collect(),
        }
    }
}

const CORRECT: &str = "Please correct the fields marked below.";

async fn throttled(
    state: &AppState,
    meta: &Meta,
    me: &Visitor,
    t: &Throttled,
    forms: AccountForms,
) -> Result<Response, AppError> {
    let forms = AccountForms {
        errors: vec![t.message()],
        ..forms
    };
    let mut res = render(state, meta, me, StatusCode::TOO_MANY_REQUESTS, forms).await?;
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(t.retry_after_secs()));
    Ok(res)
}

async fn change_password(
    _: RateLimited<PasswordChanges>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let mut errors = PasswordErrors::default();
    let required = || Some("This field is required.".to_owned());
    if form.current.is_empty() {
        errors.current = required();
    }
    if form.new.is_empty() {
        errors.new = required();
    } else if form.new != form.confirm {
        errors.confirm = Some("The passwords do not match.".to_owned());
    }
    let present = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
    let change = if errors.confirm.is_some() {
        // Nothing is checked (nor counted) until the two new passwords agree.
        PasswordChange::Refused(Vec::new())
    } else {
        let who = Account {
            user: &me.user,
            tenant: &me.tenant,
            keep: me.family_id,
        };
        let (current, new) = (present(&form.current), present(&form.new));
        let ctx = meta.event_context();
        profile::change_password_of(
            &state,
            who,
            current.as_deref(),
            new.as_deref(),
            meta.ip,
            &ctx,
        )
        .await?
    };
    let problems = match change {
        PasswordChange::Changed => {
            let forms = AccountForms {
                notice: Some(
                    "Your password was changed. Every other device was signed out.".to_owned(),
                ),
                ..AccountForms::default()
            };
            return render(&state, &meta, &me, StatusCode::OK, forms).await;
        }
        PasswordChange::Throttled(t) => {
            return throttled(&state, &meta, &me, &t, AccountForms::default()).await;
        }
        PasswordChange::Refused(problems) => problems,
    };
    for (field, message) in problems {
        match field {
            PasswordField::Current => errors.current = Some(message),
            PasswordField::New => errors.new = Some(message),
        }
    }
    let forms = AccountForms {
        errors: vec![CORRECT.to_owned()],
        password: errors,
        ..AccountForms::default()
    };
    render(&state, &meta, &me, StatusCode::UNPROCESSABLE_ENTITY, forms).await
}

async fn change_email(
    _: RateLimited<PasswordChanges>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    let ctx = meta.event_context();
    let change = verification::request_email_change(
        &state,
        &me.tenant,
        &me.user,
        &form.password,
        &form.email,
        meta.ip,
        &ctx,
    )
    .await?;
    let problems = match change {
        EmailChange::Requested => {
            let forms = AccountForms {
                notice: Some(format!(
                    "We have sent a link to {}. Your address changes when you open it (within 24 hours).",
                    form.email
                )),
                ..AccountForms::default()
            };
            return render(&state, &meta, &me, StatusCode::OK, forms).await;
        }
        EmailChange::Throttled(t) => {
            let forms = AccountForms {
                new_email: form.email,
                ..AccountForms::default()
            };
            return throttled(&state, &meta, &me, &t, forms).await;
        }
        EmailChange::Refused(problems) => problems,
    };
    let mut errors = EmailErrors::default();
    for (field, message) in problems {
        match field {
            EmailField::Password => errors.password = Some(message),
            EmailField::Email => errors.email = Some(message),
        }
    }
    let forms = AccountForms {
        errors: vec![CORRECT.to_owned()],
        email: errors,
        new_email: form.email,
        ..AccountForms::default()
    };
    Ok(
        render(&state, &meta, &me, StatusCode::UNPROCESSABLE_ENTITY, forms)
            .await?
            .into_response(),
    )
}
