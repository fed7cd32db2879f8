//! `GET/POST /invite/accept?token=…`: the page an invitation link opens. It shows the
//! organization and the invited address, and asks for a name and a password; accepting
//! creates the account ([`invitations::accept`]), signs the new user in and sends them to
//! `/`. A bad, used, expired or other-kind token answers `400` with a page saying to ask
//! the inviter for a new link. Field errors, a full organization and an address taken
//! meanwhile re-render the form (`422`; never the passwords). Accepting is rate limited
//! per client address ([`Invitations`]).

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::request::Parts;
use http::{HeaderMap, StatusCode};

use super::form::{CsrfForm, PageForm};
use super::login::replace_previous;
use super::redirect::SafeRedirect;
use super::signed_in_reply;
use super::views::{ErrorPage, Reply};
use crate::accounts::invitations::{
    self, AcceptError, AcceptField, AcceptFields, EMAIL_TAKEN, LINK_INVALID, TENANT_FULL,
};
use crate::error::{AppError, current_request_id};
use crate::request::rate_limit::{Invitations, RateLimited};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The accept route.
pub fn router() -> Router<AppState> {
    Router::new().route("/invite/accept", get(form).post(submit))
}

/// Per-field messages of the accept form.
#[derive(Debug, Default, Clone)]
pub struct AcceptErrors {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Confirmation.
    pub password_confirm: Option<String>,
}

impl AcceptErrors {
    fn any(&self) -> bool {
        self.first_name.is_some()
            || self.last_name.is_some()
            || self.password.is_some()
            || self.password_confirm.is_some()
    }
}

/// The accept form.
#[derive(Template, Debug, Default)]
#[template(path = "auth/invite_accept.html")]
pub struct AcceptPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// Field messages.
    pub field_errors: AcceptErrors,
    /// CSRF form token.
    pub csrf_token: String,
    /// The link's token (base64url: checked live before it is shown).
    pub token: String,
    /// Organization name.
    pub tenant_name: String,
    /// Organization slug.
    pub tenant_slug: String,
    /// Invited address.
    pub email: String,
    /// Invited role.
    pub role: String,
    /// Typed value.
    pub first_name: String,
    /// Typed value.
    pub last_name: String,
}

/// `?token=…`.
#[derive(Debug)]
pub struct TokenQuery(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for TokenQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let f = Fields::parse(parts.uri.query().unwrap_or("").as_bytes());
        Ok(Self(f.opt("token")))
    }
}

/// The `400` page of a link that does not work.
fn invalid_link() -> Response {
    Reply::page(
        StatusCode::BAD_REQUEST,
        &ErrorPage {
            title: "Invitation link not valid".to_owned(),
            message: LINK_INVALID.to_owned(),
            request_id: current_request_id(),
        },
    )
    .into_response()
}

/// `POST /invite/accept`'s fields.
#[derive(Debug, Default)]
pub struct AcceptForm {
    /// The token (hidden field; the query's wins).
    pub token: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Password.
    pub password: String,
    /// Its confirmation.
    pub password_confirm: String,
}

impl PageForm for AcceptForm {
    fn parse(f: &Fields) -> Self {
        Self {
            token: f.get("token").trim().to_owned(),
            first_name: f.get("first_name").trim().to_owned(),
            last_name: f.get("last_name").trim().to_owned(),
            password: f.get("password").to_owned(),
            password_confirm: f.get("password_confirm").to_owned(),
        }
    }
}

/// What the page shows about the invitation.
#[derive(Debug, Default)]
struct LinkFacts {
    tenant_name: String,
    tenant_slug: String,
    email: String,
    role: String,
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    typed: &AcceptForm,
    facts: &LinkFacts,
    mut errors: Vec<String>,
    field_errors: AcceptErrors,
) -> Reply {
    let pre = state.csrf.pre_session(headers);
    if errors.is_empty() && field_errors.any() {
        errors.push("Please correct the fields marked below.".to_owned());
    }
    Reply::page(
        status,
        &AcceptPage {
            errors,
            field_errors,
            csrf_token: pre.form_token,
            token: typed.token.clone(),
            tenant_name: facts.tenant_name.clone(),
            tenant_slug: facts.tenant_slug.clone(),
            email: facts.email.clone(),
            role: facts.role.clone(),
            first_name: typed.first_name.chars().take(100).collect(),
            last_name: typed.last_name.chars().take(100).collect(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref())
}

async fn facts(state: &AppState, token: &str) -> Result<Option<LinkFacts>, AppError> {
    match invitations::open(&state.db, token).await {
        Ok((link, tenant)) => Ok(Some(LinkFacts {
            tenant_name: tenant.name,
            tenant_slug: tenant.slug,
            email: link.email,
            role: link
                .role
                .map_or_else(|| "member".to_owned(), |r| r.to_string()),
        })),
        Err(crate::accounts::links::LinkError::Invalid) => Ok(None),
        Err(crate::accounts::links::LinkError::Db(e)) => Err(e.into()),
    }
}

async fn form(
    State(state): State<AppState>,
    meta: Meta,
    TokenQuery(token): TokenQuery,
) -> Result<Response, AppError> {
    let token = token.unwrap_or_default();
    let Some(facts) = facts(&state, &token).await? else {
        return Ok(invalid_link());
    };
    let typed = AcceptForm {
        token,
        ..AcceptForm::default()
    };
    let (errors, fe) = (Vec::new(), AcceptErrors::default());
    Ok(page(
        &state,
        &meta.headers,
        StatusCode::OK,
        &typed,
        &facts,
        errors,
        fe,
    )
    .into_response())
}

async fn submit(
    _: RateLimited<Invitations>,
    State(state): State<AppState>,
    meta: Meta,
    TokenQuery(query_token): TokenQuery,
    CsrfForm(mut form): CsrfForm<AcceptForm>,
) -> Result<Response, AppError> {
    if let Some(t) = query_token {
        form.token = t;
    }
    let Some(facts) = facts(&state, &form.token).await? else {
        return Ok(invalid_link());
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let refuse = |errors: Vec<String>, fe: AcceptErrors| {
        let reply = page(
            &state,
            &meta.headers,
            unprocessable,
            &form,
            &facts,
            errors,
            fe,
        );
        Ok(reply.into_response())
    };
    let mut fe = AcceptErrors::default();
    if form.password_confirm != form.password {
        fe.password_confirm = Some("The passwords do not match.".to_owned());
    }
    let fields = AcceptFields {
        token: &form.token,
        first_name: &form.first_name,
        last_name: &form.last_name,
        password: &form.password,
    };
    let ctx = meta.event_context();
    let outcome = if fe.any() {
        // Still report the other fields' problems, without creating anything.
        match invitations::check_fields(fields, &facts.email) {
            Ok(_) => Err(AcceptError::Fields(Vec::new())),
            Err(problems) => Err(AcceptError::Fields(problems)),
        }
    } else {
        invitations::accept(&state, fields, &ctx).await
    };
    match outcome {
        Ok((user, tenant)) => {
            replace_previous(&state, &meta).await?;
            let session = state.sessions.start(&state.db, user, tenant, &ctx).await?;
            Ok(signed_in_reply(&state, &session, &SafeRedirect::root())?.into_response())
        }
        Err(AcceptError::Invalid) => Ok(invalid_link()),
        Err(AcceptError::Fields(problems)) => {
            for (field, message) in problems {
                let slot = match field {
                    AcceptField::FirstName => &mut fe.first_name,
                    AcceptField::LastName => &mut fe.last_name,
                    AcceptField::Password => &mut fe.password,
                };
                *slot = Some(message);
            }
            refuse(Vec::new(), fe)
        }
        Err(AcceptError::TenantFull) => refuse(vec![TENANT_FULL.to_owned()], fe),
        Err(AcceptError::EmailTaken) => refuse(vec![EMAIL_TAKEN.to_owned()], fe),
        Err(AcceptError::Hash(e)) => Err(e.into()),
        Err(AcceptError::Db(e)) => Err(e.into()),
    }
}
