//! `GET/POST /organization` (owners): the tenant's name, sign-up policy and user limit.
//! The rules are [`organization`]'s (the same as `auth-service tenant set`); field errors
//! re-render the form (`422`) with what was typed; a save answers
//! `303 /organization?done=saved`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use shared_jwt::Role;

use super::account::Visitor;
use super::form::{CsrfForm, PageForm};
use super::members::{DoneQuery, require_role};
use super::views::Reply;
use crate::accounts::admin::Actor;
use crate::accounts::organization::{self, SettingsError, TenantChange};
use crate::error::AppError;
use crate::infra::entities::user;
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The settings route.
pub fn router() -> Router<AppState> {
    Router::new().route("/organization", get(form).post(submit))
}

/// Per-field messages.
#[derive(Debug, Default, Clone)]
pub struct SettingsErrors {
    /// Name.
    pub name: Option<String>,
    /// Sign-up policy.
    pub signup_policy: Option<String>,
    /// User limit.
    pub max_users: Option<String>,
    /// Second-factor policy.
    pub mfa_required: Option<String>,
}

impl SettingsErrors {
    fn any(&self) -> bool {
        self.name.is_some()
            || self.signup_policy.is_some()
            || self.max_users.is_some()
            || self.mfa_required.is_some()
    }
}

/// The settings page.
#[derive(Template, Debug, Default)]
#[template(path = "auth/organization.html")]
pub struct OrganizationPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// A confirmation.
    pub notice: Option<String>,
    /// Field messages.
    pub field_errors: SettingsErrors,
    /// CSRF form token.
    pub csrf_token: String,
    /// Current name (title).
    pub tenant_name: String,
    /// Slug.
    pub tenant_slug: String,
    /// Users now.
    pub user_count: u64,
    /// Name field.
    pub name: String,
    /// Policy field.
    pub signup_policy: String,
    /// Limit field.
    pub max_users: String,
    /// Second-factor policy field (`none`, `admins`, `everyone`).
    pub mfa_required: String,
}

/// `POST /organization`'s fields, as typed.
#[derive(Debug, Default)]
pub struct SettingsForm {
    /// Name.
    pub name: String,
    /// Sign-up policy.
    pub signup_policy: String,
    /// User limit.
    pub max_users: String,
    /// Second-factor policy (empty: unchanged).
    pub mfa_required: String,
}

impl PageForm for SettingsForm {
    fn parse(f: &Fields) -> Self {
        Self {
            name: f.get("name").trim().to_owned(),
            signup_policy: f.get("signup_policy").trim().to_owned(),
            max_users: f.get("max_users").trim().to_owned(),
            mfa_required: f.get("mfa_required").trim().to_owned(),
        }
    }
}

async fn render(
    state: &AppState,
    meta: &Meta,
    me: &Visitor,
    status: StatusCode,
    typed: &SettingsForm,
    notice: Option<String>,
    field_errors: SettingsErrors,
) -> Result<Response, AppError> {
    let user_count = user::Entity::find()
        .filter(user::Column::TenantId.eq(me.tenant.id))
        .count(&state.db)
        .await?;
    let errors = if field_errors.any() {
        vec!["Please correct the fields marked below.".to_owned()]
    } else {
        Vec::new()
    };
    let pre = state.csrf.pre_session(&meta.headers);
    let page = Reply::page(
        status,
        &OrganizationPage {
            errors,
            notice,
            field_errors,
            csrf_token: pre.form_token,
            tenant_name: me.tenant.name.clone(),
            tenant_slug: me.tenant.slug.clone(),
            user_count,
            name: typed.name.chars().take(200).collect(),
            signup_policy: typed.signup_policy.chars().take(1000).collect(),
            max_users: typed.max_users.chars().take(12).collect(),
            mfa_required: typed.mfa_required.chars().take(16).collect(),
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref());
    let reply = match &me.refreshed {
        Some(session) => super::with_session_cookies(state, page, session)?,
        None => page,
    };
    Ok(reply.into_response())
}

async fn form(
    State(state): State<AppState>,
    meta: Meta,
    DoneQuery(done): DoneQuery,
) -> Result<Response, AppError> {
    let me = match require_role(&state, &meta, "/organization", Role::Owner).await? {
        Ok(me) => me,
        Err(answer) => return Ok(answer),
    };
    let typed = SettingsForm {
        name: me.tenant.name.clone(),
        signup_policy: me.tenant.signup_policy.to_string(),
        max_users: me.tenant.max_users.to_string(),
        mfa_required: me.tenant.mfa_required.to_string(),
    };
    let notice = (done.as_deref() == Some("saved")).then(|| "Settings saved.".to_owned());
    let fe = SettingsErrors::default();
    render(&state, &meta, &me, StatusCode::OK, &typed, notice, fe).await
}

async fn submit(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, AppError> {
    let me = match require_role(&state, &meta, "/organization", Role::Owner).await? {
        Ok(me) => me,
        Err(answer) => return Ok(answer),
    };
    let mut fe = SettingsErrors::default();
    let signup_policy = organization::parse_policy(&form.signup_policy)
        .map_err(|m| fe.signup_policy = Some(m.to_owned()))
        .ok();
    let max_users = organization::parse_max_users(&form.max_users)
        .map_err(|m| fe.max_users = Some(m))
        .ok();
    let mfa_required = match form.mfa_required.as_str() {
        "" => None,
        raw => crate::infra::entities::tenant::MfaPolicy::parse(raw)
            .map_err(|m| fe.mfa_required = Some(m))
            .ok(),
    };
    if let Err(m) = crate::accounts::signup::parse_organization_name(&form.name) {
        fe.name = Some(m.to_owned());
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if fe.any() {
        return render(&state, &meta, &me, unprocessable, &form, None, fe).await;
    }
    let change = TenantChange {
        name: Some(form.name.clone()),
        signup_policy,
        max_users,
        mfa_required,
    };
    let actor = Actor::User {
        user_id: me.user.id,
        tenant_id: me.tenant.id,
        role: me.user.claim_role(),
    };
    let ctx = meta.event_context();
    match organization::update_settings(&state.db, actor, me.tenant.id, change, &ctx).await {
        Ok(_) => {
            let reply = Reply::see_other("/organization?done=saved");
            let reply = match &me.refreshed {
                Some(session) => super::with_session_cookies(&state, reply, session)?,
                None => reply,
            };
            Ok(reply.into_response())
        }
        Err(SettingsError::Forbidden(m)) => Err(AppError::Forbidden(m.into())),
        Err(SettingsError::NotFound) => Err(AppError::NotFound),
        Err(SettingsError::Name(m)) => {
            fe.name = Some(m.to_owned());
            render(&state, &meta, &me, unprocessable, &form, None, fe).await
        }
        Err(SettingsError::MaxUsers(m)) => {
            fe.max_users = Some(m);
            render(&state, &meta, &me, unprocessable, &form, None, fe).await
        }
        Err(SettingsError::Db(e)) => Err(e.into()),
    }
}
