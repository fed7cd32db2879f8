//! For owners and admins: `GET users/` (the tenant's users, paginated like DRF's
//! `PageNumberPagination`: `?page=N&page_size=M`, `{count, next, previous, results}`; a
//! page or size that is not a whole number in range is a `400` naming the range, a page past
//! the end DRF's `404 Invalid page.`)
//! and `PATCH users/{id}/` (`role`, `is_active`). The rules live in
//! [`crate::accounts::admin`]; another tenant's id answers `404` like an unknown one.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use http::request::Parts;
use serde_json::{Value, json};
use service_kit::params;
use shared_jwt::Role;
use uuid::Uuid;

use super::auth::ApiUser;
use super::body::JsonBody;
use super::users::user_json;
use crate::accounts::admin::{self, Actor, AdminError, UserChange};
use crate::error::{AppError, FieldErrors};
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// Default page size.
pub const PAGE_SIZE: u64 = 20;
/// Largest page size a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;
pub use service_kit::params::MAX_PAGE;

fn invalid_page() -> AppError {
    AppError::InvalidPage
}

/// `GET users/`'s query: the page (from 1) and its size, both bounded by service-kit's one
/// rule ([`service_kit::params`]), so `(page - 1) × size` stays below 10^8.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery {
    /// The page, from 1 to [`MAX_PAGE`].
    pub page: u64,
    /// Users per page, from 1 to [`MAX_PAGE_SIZE`].
    pub size: u64,
}

impl ListQuery {
    /// Parses `?page=N&page_size=M` (absent or empty = the defaults).
    ///
    /// # Errors
    /// `400 {"page": …}` / `{"page_size": …}` (naming the range) for anything but a whole
    /// number in range.
    pub fn parse(query: &str) -> Result<Self, AppError> {
        let f = Fields::parse(query.as_bytes());
        let mut errors = FieldErrors::default();
        let mut read = |name, max, default| {
            params::bounded_or(name, f.opt(name).as_deref(), 1..=max, default)
                .map_err(|e| errors.add(name, e.to_string()))
                .unwrap_or(default)
        };
        let page = read("page", MAX_PAGE, 1);
        let size = read("page_size", MAX_PAGE_SIZE, PAGE_SIZE);
        errors.into_result()?;
        Ok(Self { page, size })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        Self::parse(parts.uri.query().unwrap_or(""))
    }
}

/// `GET users/`.
pub async fn list(
    State(state): State<AppState>,
    me: ApiUser,
    query: Result<ListQuery, AppError>,
) -> Result<Json<Value>, AppError> {
    me.require(Role::Admin)?;
    let ListQuery { page, size } = query?;
    // page ≤ MAX_PAGE and size ≤ MAX_PAGE_SIZE (ListQuery): no overflow, far below i64::MAX.
    let offset = (page - 1) * size;
    let (rows, count) = admin::list_users(&state.db, me.tenant.id, offset, size).await?;
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

/// `PATCH users/{id}/`'s body (`None` = unchanged).
#[derive(Debug)]
pub struct UpdateBody(UserChange);

impl UpdateBody {
    /// Reads `role` and `is_active`.
    ///
    /// # Errors
    /// [`AppError::Fields`].
    pub fn parse(body: &JsonBody) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let role = body.opt_string("role", &mut errors).and_then(|r| {
            r.parse::<Role>()
                .map_err(|_| errors.add("role", format!("\"{r}\" is not a valid choice.")))
                .ok()
        });
        let is_active = body.opt_bool("is_active", &mut errors);
        errors.into_result()?;
        Ok(Self(UserChange { role, is_active }))
    }
}

/// `PATCH users/{id}/`.
pub async fn update(
    State(state): State<AppState>,
    meta: Meta,
    me: ApiUser,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, AppError> {
    me.require(Role::Admin)?;
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(AppError::NotFound);
    };
    let UpdateBody(change) = UpdateBody::parse(&body)?;
    let actor = Actor::User {
        user_id: me.user.id,
        tenant_id: me.tenant.id,
        role: me.role(),
    };
    let ctx = meta.event_context();
    match admin::update_user(&state.db, actor, me.tenant.id, id, change, &ctx).await {
        Ok(user) => Ok(Json(user_json(&user, &me.tenant))),
        Err(AdminError::NotFound) => Err(AppError::NotFound),
        Err(AdminError::Forbidden(m)) => Err(AppError::Forbidden(m.into())),
        Err(AdminError::LastOwner) => Err(AppError::Fields(FieldErrors::single(
            if change.role.is_some() {
                "role"
            } else {
                "is_active"
            },
            "The organization must keep at least one active owner.",
        ))),
        Err(AdminError::Db(e)) => Err(e.into()),
    }
}
