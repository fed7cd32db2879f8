//! `GET auth/audit/` for owners and admins: their organization's audit events, newest
//! first, filtered by `type`, `user` (an id), `since` and `until` (RFC 3339), paginated like
//! `GET users/` (`?page=N&page_size=M`, `{count, next, previous, results}`). Another
//! organization's events never appear; a bad filter is a `400` naming the field.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use chrono::{DateTime, Utc};
use http::request::Parts;
use serde_json::{Value, json};
use shared_jwt::Role;
use uuid::Uuid;

use super::admin::ListQuery;
use super::auth::ApiUser;
use crate::accounts::audit_log::{self, AuditFilter};
use crate::error::{AppError, FieldErrors};
use crate::request::Fields;
use crate::state::AppState;

/// The filters and the page of `GET auth/audit/` (the tenant is the caller's).
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// Type, user and time (tenant unset here).
    pub filter: AuditFilter,
    /// The page.
    pub page: ListQuery,
    /// The filters as given, kept for the `next`/`previous` links.
    pub echo: Vec<(&'static str, String)>,
}

/// A time filter: RFC 3339.
fn time(
    f: &Fields,
    name: &'static str,
    errors: &mut FieldErrors,
    echo: &mut Vec<(&'static str, String)>,
) -> Option<DateTime<Utc>> {
    let raw = f.opt(name)?;
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => {
            echo.push((name, raw.to_owned()));
            Some(t.with_timezone(&Utc))
        }
        Err(_) => {
            errors.add(
                name,
                "Expected a date and time such as 2026-11-30T12:00:00Z.",
            );
            None
        }
    }
}

impl AuditQuery {
    /// Parses the query string.
    ///
    /// # Errors
    /// `400` naming each bad field.
    pub fn parse(query: &str) -> Result<Self, AppError> {
        let f = Fields::parse(query.as_bytes());
        let mut errors = FieldErrors::default();
        let mut echo = Vec::new();
        let mut read = |name, max, default| {
            service_kit::params::bounded_or(name, f.opt(name).as_deref(), 1..=max, default)
                .map_err(|e| errors.add(name, e.to_string()))
                .unwrap_or(default)
        };
        let page = ListQuery {
            page: read("page", super::admin::MAX_PAGE, 1),
            size: read(
                "page_size",
                super::admin::MAX_PAGE_SIZE,
                super::admin::PAGE_SIZE,
            ),
        };
        let kind = f
            .opt("type")
            .filter(|t| !t.trim().is_empty())
            .and_then(|t| {
                let k = audit_log::parse_kind(&t);
                match k {
                    Some(k) => echo.push(("type", k.as_str().to_owned())),
                    None => errors.add("type", "Not a known event type."),
                }
                k
            });
        let user_id = f
            .opt("user")
            .filter(|u| !u.trim().is_empty())
            .and_then(|u| {
                let id = Uuid::parse_str(u.trim()).ok();
                match id {
                    Some(id) => echo.push(("user", id.to_string())),
                    None => errors.add("user", "Must be a valid UUID."),
                }
                id
            });
        let since = time(&f, "since", &mut errors, &mut echo);
        let until = time(&f, "until", &mut errors, &mut echo);
        errors.into_result()?;
        Ok(Self {
            filter: AuditFilter {
                tenant_id: None,
                kind,
                user_id,
                since,
                until,
            },
            page,
            echo,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuditQuery {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        Self::parse(parts.uri.query().unwrap_or(""))
    }
}

/// `GET auth/audit/`.
pub async fn list(
    State(state): State<AppState>,
    me: ApiUser,
    query: Result<AuditQuery, AppError>,
) -> Result<Json<Value>, AppError> {
    me.require(Role::Admin)?;
    let AuditQuery {
        mut filter,
        page: ListQuery { page, size },
        echo,
    } = query?;
    filter.tenant_id = Some(me.tenant.id);
    // page ≤ MAX_PAGE and size ≤ MAX_PAGE_SIZE (ListQuery): no overflow.
    let offset = (page - 1) * size;
    let (rows, count) = audit_log::list(&state.db, &filter, offset, size).await?;
    if page > 1 && offset >= count {
        return Err(AppError::InvalidPage);
    }
    let base = format!(
        "{}/api/v1/auth/audit/",
        state.settings.public_url.as_str().trim_end_matches('/')
    );
    let link = |p: u64| {
        let mut pairs: Vec<(&str, String)> = echo.iter().map(|(k, v)| (*k, v.clone())).collect();
        pairs.push(("page", p.to_string()));
        pairs.push(("page_size", size.to_string()));
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let next = (offset + size < count).then(|| link(page + 1));
    let previous = (page > 1).then(|| link(page - 1));
    let results: Vec<Value> = rows
        .iter()
        .map(|(e, email)| audit_log::event_json(e, email.as_deref()))
        .collect();
    Ok(Json(json!({
        "count": count,
        "next": next,
        "previous": previous,
        "results": results,
    })))
}
