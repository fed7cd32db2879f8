//! `GET /members` (owners and admins): the tenant's users (with whether each has a second
//! factor: an authenticator app or a passkey) and pending invitations, with
//! the forms `POST /members/invite`, `POST /members/invitations/{id}/revoke`,
//! `POST /members/users/{id}/role`, `POST /members/users/{id}/deactivate` and
//! `…/reactivate`. Every rule is the use cases' ([`invitations`], [`admin`], the same
//! as the JSON API's); a success answers `303 /members?done=…` (a fixed notice), a
//! refusal shows the page again with the message (`403` for a role the caller may not
//! touch or grant, `422` for an existing member or the last owner, `404` for another
//! tenant's id).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use shared_jwt::Role;
use uuid::Uuid;

use super::account::{ButtonForm, Visitor, visitor};
use super::clear_auth_cookies;
use super::form::{CsrfForm, PageForm};
use super::views::{Reply, next_query};
use crate::accounts::admin::{self, Actor, AdminError, NO_PERMISSION, UserChange};
use crate::accounts::invitations::{self, ALREADY_MEMBER, InviteError};
use crate::accounts::mfa;
use crate::accounts::users::{self, Email};
use crate::error::AppError;
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// The members routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/members", get(page))
        .route("/members/invite", post(invite))
        .route("/members/invitations/{id}/revoke", post(revoke))
        .route("/members/users/{id}/role", post(change_role))
        .route("/members/users/{id}/deactivate", post(deactivate))
        .route("/members/users/{id}/reactivate", post(reactivate))
}

/// One user row.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Address.
    pub email: String,
    /// Role.
    pub role: String,
    /// Active flag.
    pub active: bool,
    /// Address verified.
    pub verified: bool,
    /// Has a second factor (an authenticator app or a passkey).
    pub second_factor: bool,
    /// The viewer themselves.
    pub is_self: bool,
    /// Whether the viewer may change this user (an admin cannot touch an owner).
    pub manageable: bool,
}

/// One pending invitation row.
#[derive(Debug, Clone)]
pub struct InvitationRow {
    /// Invitation id.
    pub id: String,
    /// Address.
    pub email: String,
    /// Role.
    pub role: String,
    /// Inviter's name.
    pub invited_by: String,
    /// Expiry, formatted.
    pub expires: String,
    /// Whether the viewer may revoke it.
    pub revocable: bool,
}

/// The members page.
#[derive(Template, Debug, Default)]
#[template(path = "auth/members.html")]
pub struct MembersPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// A confirmation.
    pub notice: Option<String>,
    /// CSRF form token.
    pub csrf_token: String,
    /// The viewer's display name.
    pub name: String,
    /// Organization name.
    pub tenant_name: String,
    /// Whether the viewer is an owner (the settings link).
    pub is_owner: bool,
    /// Users.
    pub users: Vec<MemberRow>,
    /// Pending invitations.
    pub invitations: Vec<InvitationRow>,
    /// Roles the viewer may grant, lowest first.
    pub roles: Vec<&'static str>,
    /// Invite form: typed address.
    pub invite_email: String,
    /// Invite form: chosen role.
    pub invite_role: String,
    /// Invite form: the address field's message.
    pub invite_error: Option<String>,
}

/// The signed-in user of a page for `min` and up: `Err(response)` is the answer instead
/// (`303 /login?next=path` when not signed in, `403` below `min`).
///
/// # Errors
/// A database failure.
pub async fn require_role(
    state: &AppState,
    meta: &Meta,
    path: &str,
    min: Role,
) -> Result<Result<Visitor, Response>, AppError> {
    let me = match visitor(state, meta).await? {
        Ok(me) => me,
        Err(clear) => {
            let reply = Reply::see_other(&format!("/login{}", next_query(path)));
            let reply = if clear {
                clear_auth_cookies(state, reply)
            } else {
                reply
            };
            return Ok(Err(reply.into_response()));
        }
    };
    if !me.user.claim_role().at_least(min) {
        let refused = AppError::Forbidden(NO_PERMISSION.into()).into_response();
        return Ok(Err(refused));
    }
    Ok(Ok(me))
}

fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "invited" => "Invitation sent.",
        "revoked" => "Invitation revoked.",
        "role" => "Role changed.",
        "deactivated" => "User deactivated; their sessions were ended.",
        "reactivated" => "User reactivated.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// What a re-rendered page carries besides the lists.
#[derive(Debug, Default)]
struct Extra {
    errors: Vec<String>,
    notice: Option<String>,
    invite_email: String,
    invite_role: String,
    invite_error: Option<String>,
}

async fn render(
    state: &AppState,
    meta: &Meta,
    me: &Visitor,
    status: StatusCode,
    extra: Extra,
) -> Result<Response, AppError> {
    let own = me.user.claim_role();
    let (rows, _) = admin::list_users(&state.db, me.tenant.id, 0, 10_000).await?;
    let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
    let with_factor = mfa::users_with_second_factor(&state.db, &ids).await?;
    let users = rows
        .iter()
        .map(|u| MemberRow {
            id: u.id.to_string(),
            name: users::display_name(u),
            email: u.email.clone(),
            role: u.role.to_string(),
            active: u.is_active,
            verified: u.email_verified,
            second_factor: with_factor.contains(&u.id),
            is_self: u.id == me.user.id,
            manageable: own == Role::Owner || u.claim_role() != Role::Owner,
        })
        .collect();
    let invitations = invitations::list_pending(&state.db, me.tenant.id)
        .await?
        .into_iter()
        .map(|p| InvitationRow {
            id: p.id.to_string(),
            email: p.email,
            role: p.role.as_str().to_owned(),
            invited_by: p.invited_by_name.unwrap_or_else(|| "(removed)".to_owned()),
            expires: format_time(p.expires_at),
            revocable: admin::may_grant(own, p.role),
        })
        .collect();
    let roles = Role::ALL
        .into_iter()
        .filter(|r| admin::may_grant(own, *r))
        .map(|r| r.as_str())
        .collect();
    let pre = state.csrf.pre_session(&meta.headers);
    let invite_role = if extra.invite_role.is_empty() {
        Role::Member.as_str().to_owned()
    } else {
        extra.invite_role
    };
    let page = Reply::page(
        status,
        &MembersPage {
            errors: extra.errors,
            notice: extra.notice,
            csrf_token: pre.form_token,
            name: users::display_name(&me.user),
            tenant_name: me.tenant.name.clone(),
            is_owner: own == Role::Owner,
            users,
            invitations,
            roles,
            invite_email: extra.invite_email,
            invite_role,
            invite_error: extra.invite_error,
        },
    )
    .maybe_cookie(pre.new_cookie.as_ref());
    let reply = match &me.refreshed {
        Some(session) => super::with_session_cookies(state, page, session)?,
        None => page,
    };
    Ok(reply.into_response())
}

/// `?done=…` of the page.
#[derive(Debug)]
pub struct DoneQuery(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for DoneQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            Fields::parse(parts.uri.query().unwrap_or("").as_bytes()).opt("done"),
        ))
    }
}

async fn page(
    State(state): State<AppState>,
    meta: Meta,
    DoneQuery(done): DoneQuery,
) -> Result<Response, AppError> {
    let me = match require_role(&state, &meta, "/members", Role::Admin).await? {
        Ok(me) => me,
        Err(answer) => return Ok(answer),
    };
    let extra = Extra {
        notice: notice(done.as_deref()),
        ..Extra::default()
    };
    render(&state, &meta, &me, StatusCode::OK, extra).await
}

fn done(state: &AppState, me: &Visitor, what: &str) -> Result<Response, AppError> {
    let reply = Reply::see_other(&format!("/members?done={what}"));
    let reply = match &me.refreshed {
        Some(session) => super::with_session_cookies(state, reply, session)?,
        None => reply,
    };
    Ok(reply.into_response())
}

fn error(message: impl Into<String>) -> Extra {
    Extra {
        errors: vec![message.into()],
        ..Extra::default()
    }
}

/// `POST /members/invite`'s fields.
#[derive(Debug)]
pub struct InviteForm {
    /// Address.
    pub email: String,
    /// Role.
    pub role: String,
}

impl PageForm for InviteForm {
    fn parse(f: &Fields) -> Self {
        Self {
            email: f.get("email").trim().to_owned(),
            role: f.get("role").trim().to_owned(),
        }
    }
}

async fn invite(
    State(state): State<AppState>,
    meta: Meta,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, AppError> {
    let me = match require_role(&state, &meta, "/members", Role::Admin).await? {
        Ok(me) => me,
        Err(answer) => return Ok(answer),
    };
    let typed = |invite_error: Option<String>, errors: Vec<String>| Extra {
        errors,
        invite_email: form.email.chars().take(254).collect(),
        invite_role: form.role.chars().take(20).collect(),
        invite_error,
        ..Extra::default()
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Ok(role) = form.role.parse::<Role>() else {
        let extra = typed(None, vec!["Choose a role.".to_owned()]);
        return render(&state, &meta, &me, unprocessable, extra).await;
    };
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(m) => {
            let extra = typed(Some(m.to_owned()), vec![m.to_owned()]);
            return render(&state, &meta, &me, unprocessable, extra).await;
        }
    };
    let ctx = meta.event_context();
    match invitations::invite(&state, &me.user, &me.tenant, &email, role, &ctx).await {
        Ok(_) => done(&state, &me, "invited"),
        Err(InviteError::Forbidden(m)) => {
            let extra = typed(None, vec![m.to_owned()]);
            render(&state, &meta, &me, StatusCode::FORBIDDEN, extra).await
        }
        Err(InviteError::AlreadyMember) => {
            let extra = typed(
                Some(ALREADY_MEMBER.to_owned()),
                vec![ALREADY_MEMBER.to_owned()],
            );
            render(&state, &meta, &me, unprocessable, extra).await
        }
        Err(InviteError::NotFound) => Err(AppError::NotFound),
        Err(InviteError::Template(e)) => Err(AppError::Internal(e.into())),
        Err(InviteError::Db(e)) => Err(e.into()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let me = match require_role(&state, &meta, "/members", Role::Admin).await? {
        Ok(me) => me,
        Err(answer) => return Ok(answer),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(AppError::NotFound);
    };
    match invitations::revoke(&state, &me.user, id, &meta.event_context()).await {
        Ok(()) => done(&state, &me, "revoked"),
        Err(InviteError::Forbidden(m)) => {
            render(&state, &meta, &me, StatusCode::FORBIDDEN, error(m)).await
        }
        Err(InviteError::NotFound | InviteError::AlreadyMember) => Err(AppError::NotFound),
        Err(InviteError::Template(e)) => Err(AppError::Internal(e.into())),
        Err(InviteError::Db(e)) => Err(e.into()),
    }
}

/// `POST /members/users/{id}/role`'s field.
#[derive(Debug)]
pub struct RoleForm {
    /// The new role.
    pub role: String,
}

impl PageForm for RoleForm {
    fn parse(f: &Fields) -> Self {
        Self {
            role: f.get("role").trim().to_owned(),
        }
    }
}

/// Applies a change from the page through the one rule set ([`admin::update_user`]).
async fn change(
    state: &AppState,
    meta: &Meta,
    id: &str,
    change: Option<UserChange>,
    what: &str,
) -> Result<Response, AppError> {
    let me = match require_role(state, meta, "/members", Role::Admin).await? {
        Ok(me) => me,
        Err(answer) => return Ok(answer),
    };
    // Only an unknown role makes no change (the select offers the known ones).
    let Some(change) = change else {
        return Err(AppError::BadRequest("Choose a role.".into()));
    };
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(AppError::NotFound);
    };
    let actor = Actor::User {
        user_id: me.user.id,
        tenant_id: me.tenant.id,
        role: me.user.claim_role(),
    };
    let ctx = meta.event_context();
    match admin::update_user(&state.db, actor, me.tenant.id, id, change, &ctx).await {
        Ok(_) => done(state, &me, what),
        Err(AdminError::NotFound) => Err(AppError::NotFound),
        Err(AdminError::Forbidden(m)) => {
            render(state, meta, &me, StatusCode::FORBIDDEN, error(m)).await
        }
        Err(AdminError::LastOwner) => {
            let m = "The organization must keep at least one active owner: make someone else \
an owner first.";
            render(state, meta, &me, StatusCode::UNPROCESSABLE_ENTITY, error(m)).await
        }
        Err(AdminError::Db(e)) => Err(e.into()),
    }
}

async fn change_role(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, AppError> {
    let c = form.role.parse::<Role>().ok().map(|role| UserChange {
        role: Some(role),
        is_active: None,
    });
    change(&state, &meta, &id, c, "role").await
}

async fn deactivate(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let c = Some(UserChange {
        role: None,
        is_active: Some(false),
    });
    change(&state, &meta, &id, c, "deactivated").await
}

async fn reactivate(
    State(state): State<AppState>,
    meta: Meta,
    Path(id): Path<String>,
    CsrfForm(ButtonForm): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    let c = Some(UserChange {
        role: None,
        is_active: Some(true),
    });
    change(&state, &meta, &id, c, "reactivated").await
}
