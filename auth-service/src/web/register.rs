//! `GET /register` and `POST /register`: sign up, joining an existing organization as
//! `member` or creating a new one as its `owner`. The fields' rules and the
//! enumeration-safe sign-up are [`signup`]'s; this page adds the confirmation field and
//! signs the new user in like `POST /login` — except an account created under a
//! `domains:` policy, which must first use the link mailed to it ("check your mail"). Field errors re-render the form (`422`)
//! with what was typed, never the passwords.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode};

use super::csrf::CSRF_FAILED;
use super::form::{CsrfForm, PageForm, PageQuery};
use super::login::replace_previous;
use super::redirect::SafeRedirect;
use super::signed_in_reply;
use super::views::{CheckMailPage, RegisterErrors, RegisterPage, Reply, next_query};
use crate::accounts::signup::{self, JOIN_REFUSED, SignUp, SignupField, SignupFields, TargetField};
use crate::accounts::tenants::TenantSlug;
use crate::error::AppError;
use crate::request::rate_limit::{RateLimited, SignUps};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// What a sign-up that must confirm its address first is told.
pub const CHECK_MAIL: &str = "Your account was created. We have sent a link to your address: \
open it to confirm the address, then sign in.";

/// The sign-up routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/register", get(form).post(submit))
}

/// `POST /register`'s fields (typed values trimmed; the organization slug lowercased).
#[derive(Debug, Default)]
pub struct RegisterForm {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Email.
    pub email: String,
    /// Existing organization's slug.
    pub organization: String,
    /// New organization's name.
    pub new_organization: String,
    /// Password.
    pub password: String,
    /// Its confirmation.
    pub password_confirm: String,
    /// Where to go afterwards (unvalidated).
    pub next: Option<String>,
}

impl PageForm for RegisterForm {
    fn parse(f: &Fields) -> Self {
        Self {
            first_name: f.get("first_name").trim().to_owned(),
            last_name: f.get("last_name").trim().to_owned(),
            email: f.get("email").trim().to_owned(),
            organization: f.get("organization").trim().to_lowercase(),
            new_organization: f.get("new_organization").trim().to_owned(),
            password: f.get("password").to_owned(),
            password_confirm: f.get("password_confirm").to_owned(),
            next: f.opt("next"),
        }
    }

    fn refused(self, state: &AppState, headers: &HeaderMap) -> Response {
        let next = state.redirects.parse_or_root(self.next.as_deref());
        let errors = vec![CSRF_FAILED.to_owned()];
        page(
            state,
            headers,
            StatusCode::FORBIDDEN,
            &next,
            &self,
            errors,
            RegisterErrors::default(),
        )
        .into_response()
    }
}

impl RegisterForm {
    /// The shared rules' input, and the page's own checks (the confirmation, the choice
    /// between joining and creating) in `fe`.
    fn fields(&self, fe: &mut RegisterErrors) -> SignupFields<'_> {
        if self.password_confirm != self.password {
            fe.password_confirm = Some("The passwords do not match.".to_owned());
        }
        let target = match (
            self.organization.is_empty(),
            self.new_organization.is_empty(),
        ) {
            (true, true) => {
                fe.organization = Some(
                    "Enter the short name of an organization to join, or a name for a new one."
                        .to_owned(),
                );
                None
            }
            (false, false) => {
                fe.new_organization = Some(
                    "Choose one: join an existing organization or create a new one.".to_owned(),
                );
                None
            }
            (false, true) => Some(TargetField::Join(&self.organization)),
            (true, false) => Some(TargetField::Create(&self.new_organization)),
        };
        SignupFields {
            first_name: Some(&self.first_name),
            last_name: Some(&self.last_name),
            email: Some(&self.email),
            password: Some(&self.password),
            target,
        }
    }
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &SafeRedirect,
    typed: &RegisterForm,
    mut errors: Vec<String>,
    field_errors: RegisterErrors,
) -> Reply {
    let pre = state.csrf.pre_session(headers);
    if errors.is_empty() && field_errors.any() {
        errors.push("Please correct the fields marked below.".to_owned());
    }
    Reply::page(
        status,
        &RegisterPage {
            errors,
            field_errors,
            csrf_token: pre.form_token,
            next: next.to_string(),
            next_query: next_query(next.as_str()),
            first_name: typed.first_name.clone(),
            last_name: typed.last_name.clone(),
            email: typed.email.clone(),
            organization: typed.organization.clone(),
            new_organization: typed.new_organization.clone(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

async fn form(State(state): State<AppState>, meta: Meta, query: PageQuery) -> Response {
    let next = state.redirects.parse_or_root(query.next.as_deref());
    let organization = query
        .tenant
        .and_then(|t| TenantSlug::parse_typed(&t).ok())
        .map(|s| s.to_string())
        .or_else(|| state.redirects.tenant_hint(&next))
        .unwrap_or_default();
    let typed = RegisterForm {
        organization,
        ..RegisterForm::default()
    };
    let (errors, fe) = (Vec::new(), RegisterErrors::default());
    page(
        &state,
        &meta.headers,
        StatusCode::OK,
        &next,
        &typed,
        errors,
        fe,
    )
    .into_response()
}

async fn submit(
    _: RateLimited<SignUps>,
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(form.next.as_deref());
    let refuse = |fe: RegisterErrors| {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(page(&state, &meta.headers, status, &next, &form, Vec::new(), fe).into_response())
    };
    let mut fe = RegisterErrors::default();
    let valid = form.fields(&mut fe).parse();
    let input = match valid {
        Ok(input) if !fe.any() => input,
        Ok(_) => return refuse(fe),
        Err(problems) => {
            for (field, message) in problems {
                let slot = match field {
                    SignupField::FirstName => &mut fe.first_name,
                    SignupField::LastName => &mut fe.last_name,
                    SignupField::Email => &mut fe.email,
                    SignupField::Password => &mut fe.password,
                    SignupField::Join => &mut fe.organization,
                    SignupField::Create => &mut fe.new_organization,
                };
                *slot = Some(message);
            }
            return refuse(fe);
        }
    };
    let ctx = meta.event_context();
    match signup::sign_up(&state, input, &ctx).await? {
        SignUp::Created { user, .. } if user.awaits_verification() => {
            // A typed address proves nothing: no sign-in until the mailed link is used.
            Ok(Reply::page(
                StatusCode::OK,
                &CheckMailPage {
                    message: CHECK_MAIL,
                },
            )
            .into_response())
        }
        SignUp::Created { user, tenant } => {
            // As after POST /login: this browser's previous sign-in, if any, is replaced.
            replace_previous(&state, &meta).await?;
            let session = state
                .sessions
                .start(&state.db, *user, *tenant, &ctx)
                .await?;
            Ok(signed_in_reply(&state, &session, &next)?.into_response())
        }
        SignUp::Refused => refuse(RegisterErrors {
            organization: Some(JOIN_REFUSED.to_owned()),
            ..RegisterErrors::default()
        }),
    }
}
