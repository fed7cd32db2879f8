//! For owners and admins: `GET users/` (the tenant's users, paginated like DRF's
//! `PageNumberPagination`: `?page=N&page_size=M`, `{count, next, previous, results}`)
//! and `PATCH users/{id}/` (`role`, `is_active`). The rules live in
//! [`crate::user_admin`]; another tenant's id answers `404` like an unknown one.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde_json::{Value, json};
use shared_jwt::Role;
use uuid::Uuid;

use super::auth::ApiUser;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult, FieldErrors};
use super::users::user_json;
use crate::routes::{Meta, QueryFields};
use crate::state::AppState;
use crate::user_admin::{self, Actor, AdminError, UserChange};

/// Default page size.
pub const PAGE_SIZE: u64 = 20;
/// Largest page size a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

fn invalid_page() -> ApiError {
    ApiError::detail(StatusCode::NOT_FOUND, "Invalid page.")
}

/// `GET users/`.
pub async fn list(
    State(state): State<AppState>,
    me: ApiUser,
    query: QueryFields,
) -> ApiResult<Json<Value>> {
    me.require(Role::Admin)?;
    let page = match query.opt("page") {
        None => 1,
        Some(p) => p
            .parse::<u64>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(invalid_page)?,
    };
    let size = match query.opt("page_size") {
        None => PAGE_SIZE,
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=MAX_PAGE_SIZE).contains(s))
            .ok_or_else(|| {
                ApiError::Fields(FieldErrors::single(
                    "page_size",
                    format!("Ensure this value is between 1 and {MAX_PAGE_SIZE}."),
                ))
            })?,
    };
    let offset = (page - 1).saturating_mul(size);
    let (rows, count) = user_admin::list_users(&state.db, me.tenant.id, offset, size).await?;
    if page > 1 && offset >= count {
        return Err(invalid_page());
    }
    let base = format!(
        "{}/api/v1/auth/users/",
        state.settings.public_url.as_str().trim_end_matches('/')
    );
    let link = |p: u64| format!("{base}?page={p}&page_size={size}");
    let next = (offset + size < count).then(|| link(page + 1));
    let previous = (page > 1).then(|| link(page - 1));
    let results: Vec<Value> = rows.iter().map(|u| user_json(u, &me.tenant)).collect();
    Ok(Json(json!({
        "count": count,
        "next": next,
        "previous": previous,
        "results": results,
    })))
}

/// `PATCH users/{id}/`.
pub async fn update(
    State(state): State<AppState>,
    meta: Meta,
    me: ApiUser,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    me.require(Role::Admin)?;
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(ApiError::not_found());
    };
    let mut errors = FieldErrors::default();
    let role = body.opt_string("role", &mut errors).and_then(|r| {
        r.parse::<Role>()
            .map_err(|_| errors.add("role", format!("\"{r}\" is not a valid choice.")))
            .ok()
    });
    let is_active = body.opt_bool("is_active", &mut errors);
    errors.into_result()?;
    let actor = Actor::User {
        user_id: me.user.id,
        tenant_id: me.tenant.id,
        role: me.role(),
    };
    let change = UserChange { role, is_active };
    match user_admin::update_user(
        &state.db,
        actor,
        me.tenant.id,
        id,
        change,
        &meta.event_context(),
    )
    .await
    {
        Ok(user) => Ok(Json(user_json(&user, &me.tenant))),
        Err(AdminError::NotFound) => Err(ApiError::not_found()),
        Err(AdminError::Forbidden(m)) => Err(ApiError::forbidden(m)),
        Err(AdminError::LastOwner) => Err(ApiError::Fields(FieldErrors::single(
            if role.is_some() { "role" } else { "is_active" },
            "The organization must keep at least one active owner.",
        ))),
        Err(AdminError::Db(e)) => Err(e.into()),
    }
}
