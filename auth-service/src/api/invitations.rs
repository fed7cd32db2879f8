//! Invitations in the JSON API: `GET invitations/` (owners and admins: the pending
//! invitations, a JSON array, oldest first), `POST invitations/` `{email, role}` → `201`,
//! `DELETE invitations/{id}/` → `204` (another tenant's id: `404` like an unknown one),
//! and `POST invitations/accept/` `{token, first_name, last_name, password}` → `201` user
//! (no authentication; rate limited per client address). The rules are
//! [`crate::accounts::invitations`]', the same as the `/members` page's.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};
use shared_jwt::Role;
use uuid::Uuid;

use super::auth::ApiUser;
use super::body::JsonBody;
use super::users::user_json;
use crate::accounts::invitations::{
    self, ALREADY_MEMBER, AcceptError, AcceptField, AcceptFields, EMAIL_TAKEN, InviteError,
    LINK_INVALID, Pending, TENANT_FULL,
};
use crate::accounts::users::Email;
use crate::error::{AppError, FieldErrors};
use crate::request::Meta;
use crate::request::rate_limit::{Invitations, RateLimited};
use crate::state::AppState;

/// The representation of a pending invitation.
#[must_use]
pub fn invitation_json(p: &Pending) -> Value {
    json!({
        "id": p.id,
        "email": p.email,
        "role": p.role,
        "invited_by": p.invited_by,
        "invited_by_name": p.invited_by_name,
        "created_at": p.created_at,
        "expires_at": p.expires_at,
    })
}

fn invite_error(e: InviteError) -> AppError {
    match e {
        InviteError::Forbidden(m) => AppError::Forbidden(m.into()),
        InviteError::AlreadyMember => {
            AppError::Fields(FieldErrors::single("email", ALREADY_MEMBER))
        }
        InviteError::NotFound => AppError::NotFound,
        InviteError::Template(e) => AppError::Internal(e.into()),
        InviteError::Db(e) => e.into(),
    }
}

/// `GET invitations/`.
pub async fn list(State(state): State<AppState>, me: ApiUser) -> Result<Json<Value>, AppError> {
    me.require(Role::Admin)?;
    let rows = invitations::list_pending(&state.db, me.tenant.id).await?;
    Ok(Json(Value::Array(
        rows.iter().map(invitation_json).collect(),
    )))
}

/// `POST invitations/`.
pub async fn create(
    State(state): State<AppState>,
    meta: Meta,
    me: ApiUser,
    body: JsonBody,
) -> Result<Response, AppError> {
    me.require(Role::Admin)?;
    let mut errors = FieldErrors::default();
    let email = body
        .string("email", &mut errors)
        .and_then(|e| Email::parse(&e).map_err(|m| errors.add("email", m)).ok());
    let role = body.string("role", &mut errors).and_then(|r| {
        r.parse::<Role>()
            .map_err(|_| {
                let shown: String = r.chars().take(20).collect();
                errors.add("role", format!("\"{shown}\" is not a valid choice."));
            })
            .ok()
    });
    errors.into_result()?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(AppError::BadRequest("Invalid data.".into()));
    };
    let ctx = meta.event_context();
    let pending = invitations::invite(&state, &me.user, &me.tenant, &email, role, &ctx)
        .await
        .map_err(invite_error)?;
    Ok((StatusCode::CREATED, Json(invitation_json(&pending))).into_response())
}

/// `DELETE invitations/{id}/`.
pub async fn delete(
    State(state): State<AppState>,
    meta: Meta,
    me: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    me.require(Role::Admin)?;
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(AppError::NotFound);
    };
    invitations::revoke(&state, &me.user, id, &meta.event_context())
        .await
        .map_err(invite_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST invitations/accept/`.
pub async fn accept(
    _: RateLimited<Invitations>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let token = body.string("token", &mut errors);
    let first_name = body.raw("first_name", &mut errors);
    let last_name = body.raw("last_name", &mut errors);
    let password = body.raw("password", &mut errors);
    errors.into_result()?;
    let (Some(token), Some(first_name), Some(last_name), Some(password)) =
        (token, first_name, last_name, password)
    else {
        return Err(AppError::BadRequest("Invalid data.".into()));
    };
    let fields = AcceptFields {
        token: &token,
        first_name: &first_name,
        last_name: &last_name,
        password: &password,
    };
    match invitations::accept(&state, fields, &meta.event_context()).await {
        Ok((user, tenant)) => {
            Ok((StatusCode::CREATED, Json(user_json(&user, &tenant))).into_response())
        }
        Err(AcceptError::Invalid) => Err(AppError::BadRequest(LINK_INVALID.into())),
        Err(AcceptError::Fields(problems)) => {
            let mut errors = FieldErrors::default();
            for (field, message) in problems {
                let name = match field {
                    AcceptField::FirstName => "first_name",
                    AcceptField::LastName => "last_name",
                    AcceptField::Password => "password",
                };
                errors.add(name, message);
            }
            Err(AppError::Fields(errors))
        }
        Err(AcceptError::TenantFull) => Err(AppError::BadRequest(TENANT_FULL.into())),
        Err(AcceptError::EmailTaken) => Err(AppError::BadRequest(EMAIL_TAKEN.into())),
        Err(AcceptError::Hash(e)) => Err(e.into()),
        Err(AcceptError::Db(e)) => Err(e.into()),
    }
}
