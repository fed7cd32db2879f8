//! `GET /register` and `POST /register`: sign up, joining an existing organization as
//! `member` (when its sign-up policy allows the address and it is under `max_users`) or
//! creating a new one as its `owner`.
//!
//! Enumeration: every refusal to join — unknown organization, inactive, invite-only,
//! domain not allowed, full, or the address already registered there — gets one and the
//! same message on the organization field, after the same work (the password is always
//! hashed first). A new organization's slug is derived from its name; when it is taken
//! or reserved a random suffix is added, so creating never reveals another tenant.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use secrecy::SecretString;

use super::{FormFields, Meta, QueryFields, signed_in_reply};
use crate::error::AppError;
use crate::password;
use crate::redirect::SafeRedirect;
use crate::signup::{self, SignUp, SignupTarget, ValidSignup};
use crate::state::AppState;
use crate::tenants::TenantSlug;
use crate::users::{self, Email};
use crate::views::{RegisterErrors, RegisterPage, Reply, next_query};

/// The one message for every refused join.
pub const JOIN_REFUSED: &str = "We could not add you to this organization. It may not exist, may not accept \
sign-ups from your address, or may be full — or you may already have an account there, in which case please \
sign in. Ask the organization's administrator for an invitation if in doubt.";

/// The sign-up routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/register", get(form).post(submit))
}

#[derive(Default)]
struct Typed {
    first_name: String,
    last_name: String,
    email: String,
    organization: String,
    new_organization: String,
}

fn page(
    state: &AppState,
    meta: &Meta,
    status: StatusCode,
    next: &SafeRedirect,
    typed: Typed,
    errors: Vec<String>,
    field_errors: RegisterErrors,
) -> Reply {
    let pre = state.csrf.pre_session(&meta.headers);
    let mut errors = errors;
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
            first_name: typed.first_name,
            last_name: typed.last_name,
            email: typed.email,
            organization: typed.organization,
            new_organization: typed.new_organization,
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

async fn form(State(state): State<AppState>, meta: Meta, query: QueryFields) -> Response {
    let next = state.redirects.parse_or_root(query.opt("next"));
    let organization = query
        .opt("tenant")
        .and_then(|t| TenantSlug::parse(t).ok())
        .map(|s| s.to_string())
        .or_else(|| state.redirects.tenant_hint(&next))
        .unwrap_or_default();
    let typed = Typed {
        organization,
        ..Typed::default()
    };
    page(
        &state,
        &meta,
        StatusCode::OK,
        &next,
        typed,
        Vec::new(),
        RegisterErrors::default(),
    )
    .into_response()
}

async fn submit(
    State(state): State<AppState>,
    meta: Meta,
    fields: FormFields,
) -> Result<Response, AppError> {
    let next = state.redirects.parse_or_root(fields.opt("next"));
    let typed = Typed {
        first_name: fields.get("first_name").trim().to_owned(),
        last_name: fields.get("last_name").trim().to_owned(),
        email: fields.get("email").trim().to_owned(),
        organization: fields.get("organization").trim().to_lowercase(),
        new_organization: fields.get("new_organization").trim().to_owned(),
    };
    if state
        .csrf
        .check(&meta.headers, fields.opt("csrf_token"))
        .is_err()
    {
        let errors = vec![super::login::CSRF_FAILED.to_owned()];
        return Ok(page(
            &state,
            &meta,
            StatusCode::FORBIDDEN,
            &next,
            typed,
            errors,
            RegisterErrors::default(),
        )
        .into_response());
    }

    // Validate every field, collecting all messages.
    let mut fe = RegisterErrors::default();
    let first_name = users::parse_name(&typed.first_name)
        .map_err(|e| fe.first_name = Some(e.to_owned()))
        .ok();
    let last_name = users::parse_name(&typed.last_name)
        .map_err(|e| fe.last_name = Some(e.to_owned()))
        .ok();
    let email = Email::parse(&typed.email)
        .map_err(|e| fe.email = Some(e.to_owned()))
        .ok();
    let password = fields.get("password");
    if let Err(e) = password::check_policy(password, &typed.email) {
        fe.password = Some(e.to_string());
    }
    if fields.get("password_confirm") != password {
        fe.password_confirm = Some("The passwords do not match.".to_owned());
    }
    let target = match (
        typed.organization.is_empty(),
        typed.new_organization.is_empty(),
    ) {
        (true, true) => {
            fe.organization = Some(
                "Enter the short name of an organization to join, or a name for a new one."
                    .to_owned(),
            );
            None
        }
        (false, false) => {
            fe.new_organization =
                Some("Choose one: join an existing organization or create a new one.".to_owned());
            None
        }
        (false, true) => match TenantSlug::parse(&typed.organization) {
            Ok(slug) => Some(SignupTarget::Join(slug)),
            Err(e) => {
                fe.organization = Some(e.to_string());
                None
            }
        },
        (true, false) => match signup::parse_organization_name(&typed.new_organization) {
            Ok(name) => Some(SignupTarget::Create(name)),
            Err(e) => {
                fe.new_organization = Some(e.to_owned());
                None
            }
        },
    };
    let (Some(first_name), Some(last_name), Some(email), Some(target), false) =
        (first_name, last_name, email, target, fe.any())
    else {
        return Ok(page(
            &state,
            &meta,
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            typed,
            Vec::new(),
            fe,
        )
        .into_response());
    };

    // The transaction, the refusals and the audit live in `signup`, shared with the
    // JSON API; the password is hashed before anything is decided.
    let ctx = meta.event_context();
    let input = ValidSignup {
        first_name,
        last_name,
        email,
        password: SecretString::from(password.to_owned()),
        target,
    };
    match signup::sign_up(&state, input, &ctx).await? {
        SignUp::Created { user, tenant } => {
            // As after POST /login: this browser's previous sign-in, if any, is replaced.
            if let Some(old) = state.cookies.read_refresh(&meta.headers) {
                state.sessions.revoke_by_token(&state.db, &old).await?;
            }
            let session = state
                .sessions
                .start(&state.db, *user, *tenant, &ctx)
                .await?;
            Ok(signed_in_reply(&state, &session, &next)?.into_response())
        }
        SignUp::Refused => {
            let fe = RegisterErrors {
                organization: Some(JOIN_REFUSED.to_owned()),
                ..RegisterErrors::default()
            };
            Ok(page(
                &state,
                &meta,
                StatusCode::UNPROCESSABLE_ENTITY,
                &next,
                typed,
                Vec::new(),
                fe,
            )
            .into_response())
        }
    }
}
