//! `POST users/` (sign up), `GET`/`PATCH users/me/`, `POST users/set_password/`.
//! Validation, enumeration resistance, hashing, throttling and audit are the domain
//! layer's ([`crate::signup`], [`crate::signin`], [`crate::user_admin`]); this module
//! only maps JSON in and out.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::auth::ApiUser;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult, FieldErrors};
use crate::entities::{tenant, user};
use crate::password;
use crate::routes::Meta;
use crate::routes::register::JOIN_REFUSED;
use crate::signin::{self, PasswordCheck};
use crate::signup::{self, SignUp, SignupTarget, ValidSignup};
use crate::state::AppState;
use crate::tenants::TenantSlug;
use crate::user_admin;
use crate::users::{self, Email};

/// The public representation of a user.
#[must_use]
pub fn user_json(user: &user::Model, tenant: &tenant::Model) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "is_active": user.is_active,
        "tenant_id": tenant.id,
        "tenant_slug": tenant.slug,
        "date_joined": user.created_at,
        "last_login": user.last_login_at,
    })
}

/// `POST users/`: join an organization (`tenant_slug`) or create one (`organization_name`).
pub async fn create(
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> ApiResult<Response> {
    let mut errors = FieldErrors::default();
    let first_name = body.raw("first_name", &mut errors).and_then(|v| {
        users::parse_name(&v)
            .map_err(|e| errors.add("first_name", e))
            .ok()
    });
    let last_name = body.raw("last_name", &mut errors).and_then(|v| {
        users::parse_name(&v)
            .map_err(|e| errors.add("last_name", e))
            .ok()
    });
    let email_raw = body.string("email", &mut errors);
    let email = email_raw
        .as_deref()
        .and_then(|v| Email::parse(v).map_err(|e| errors.add("email", e)).ok());
    let password = body.raw("password", &mut errors);
    if let Some(p) = &password
        && let Err(e) = password::check_policy(p, email_raw.as_deref().unwrap_or(""))
    {
        errors.add("password", e.to_string());
    }
    let target = match (
        body.present("tenant_slug"),
        body.present("organization_name"),
    ) {
        (true, false) => body.string("tenant_slug", &mut errors).and_then(|s| {
            TenantSlug::parse(&s.to_lowercase())
                .map(SignupTarget::Join)
                .map_err(|e| errors.add("tenant_slug", e.to_string()))
                .ok()
        }),
        (false, true) => body.string("organization_name", &mut errors).and_then(|n| {
            signup::parse_organization_name(&n)
                .map(SignupTarget::Create)
                .map_err(|e| errors.add("organization_name", e))
                .ok()
        }),
        _ => {
            errors.add(
                "non_field_errors",
                "Give either tenant_slug (to join an organization) or organization_name (to create one).",
            );
            None
        }
    };
    let (Some(first_name), Some(last_name), Some(email), Some(password), Some(target), true) = (
        first_name,
        last_name,
        email,
        password,
        target,
        errors.is_empty(),
    ) else {
        return Err(ApiError::Fields(errors));
    };
    let joining = matches!(target, SignupTarget::Join(_));
    let input = ValidSignup {
        first_name,
        last_name,
        email,
        password: SecretString::from(password),
        target,
    };
    match signup::sign_up(&state, input, &meta.event_context()).await? {
        SignUp::Created { user, tenant } => {
            Ok((StatusCode::CREATED, Json(user_json(&user, &tenant))).into_response())
        }
        SignUp::Refused => {
            let field = if joining {
                "tenant_slug"
            } else {
                "organization_name"
            };
            Err(ApiError::Fields(FieldErrors::single(field, JOIN_REFUSED)))
        }
    }
}

/// `GET users/me/`.
pub async fn me(me: ApiUser) -> Json<Value> {
    Json(user_json(&me.user, &me.tenant))
}

/// `PATCH users/me/`: `first_name` and/or `last_name` (other fields are read-only and ignored).
pub async fn patch_me(
    State(state): State<AppState>,
    meta: Meta,
    me: ApiUser,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let mut errors = FieldErrors::default();
    let name = |field: &str, errors: &mut FieldErrors| {
        body.opt_string(field, errors)
            .and_then(|v| users::parse_name(&v).map_err(|e| errors.add(field, e)).ok())
    };
    let first_name = name("first_name", &mut errors);
    let last_name = name("last_name", &mut errors);
    errors.into_result()?;
    let tenant = me.tenant;
    let user = user_admin::update_names(
        &state.db,
        me.user,
        first_name,
        last_name,
        &meta.event_context(),
    )
    .await?;
    Ok(Json(user_json(&user, &tenant)))
}

/// `POST users/set_password/`: `204`; every other session of the user is revoked.
pub async fn set_password(
    State(state): State<AppState>,
    meta: Meta,
    me: ApiUser,
    body: JsonBody,
) -> ApiResult<StatusCode> {
    let mut errors = FieldErrors::default();
    let current = body.raw("current_password", &mut errors);
    let new = body.raw("new_password", &mut errors);
    if let Some(n) = &new
        && let Err(e) = password::check_policy(n, &me.user.email)
    {
        errors.add("new_password", e.to_string());
    }
    let (Some(current), Some(new)) = (current, new) else {
        return Err(ApiError::Fields(errors));
    };
    let ctx = meta.event_context();
    match signin::check_password(&state, &me.user, &me.tenant, &current, meta.ip, &ctx).await? {
        PasswordCheck::Ok => {}
        PasswordCheck::Wrong => errors.add("current_password", "Invalid password."),
        PasswordCheck::Throttled(t) => return Err(ApiError::Throttled(t)),
    }
    errors.into_result()?;
    let hash = state.hasher.hash(&SecretString::from(new)).await?;
    user_admin::set_password_hash(
        &state.db,
        me.user,
        hash,
        me.claims.sid,
        &ctx,
        "changed by the user",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
