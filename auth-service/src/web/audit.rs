//! `GET /audit`: the organization's audit log for owners and admins (members get `403`),
//! newest first, 50 a page, filtered by event type (`?type=…&page=N`).

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use sea_orm::Iterable as _;
use shared_jwt::Role;

use super::account::visitor;
use super::to_login;
use super::views::Reply;
use crate::accounts::audit_log::{self, AuditFilter};
use crate::error::AppError;
use crate::infra::audit::AuditEvent;
use crate::request::{Fields, Meta};
use crate::state::AppState;

/// Events per page.
const PER_PAGE: u64 = 50;

/// The audit route.
pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(audit))
}

/// One row of the table.
#[derive(Debug)]
pub struct EventRow {
    /// When (UTC).
    pub when: String,
    /// The event type.
    pub kind: &'static str,
    /// The user's address, when there is one.
    pub user: String,
    /// Client address.
    pub ip: String,
    /// Client user agent.
    pub user_agent: String,
    /// Short detail.
    pub detail: String,
}

/// The audit page.
#[derive(Template, Debug)]
#[template(path = "auth/audit.html")]
pub struct AuditPage {
    /// Organization name.
    pub tenant_name: String,
    /// Every event type (the filter's choices) and whether it is the selected one.
    pub types: Vec<(&'static str, bool)>,
    /// Matching events.
    pub count: u64,
    /// This page's events.
    pub events: Vec<EventRow>,
    /// Link to newer events.
    pub previous: Option<String>,
    /// Link to older events.
    pub next: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    meta: Meta,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let me = match visitor(&state, &meta).await? {
        Ok(me) => me,
        Err(clear) => return Ok(to_login(&state, clear)),
    };
    if !Role::from(me.user.role).at_least(Role::Admin) {
        return Err(AppError::Forbidden(
            "Only owners and admins can read the audit log.".into(),
        ));
    }
    let f = Fields::parse(query.unwrap_or_default().as_bytes());
    let kind = f.opt("type").and_then(|t| audit_log::parse_kind(&t));
    let page = service_kit::params::bounded_or(
        "page",
        f.opt("page").as_deref(),
        1..=service_kit::params::MAX_PAGE,
        1,
    )
    .map_err(|e| AppError::BadRequest(e.to_string().into()))?;
    let filter = AuditFilter {
        tenant_id: Some(me.tenant.id),
        kind,
        ..AuditFilter::default()
    };
    // page ≤ MAX_PAGE (10^6): the offset stays far below u64::MAX.
    let offset = (page - 1) * PER_PAGE;
    let (rows, count) = audit_log::list(&state.db, &filter, offset, PER_PAGE).await?;
    let kind_name = kind.map(AuditEvent::as_str).unwrap_or_default();
    let link = |p: u64| {
        let mut pairs = vec![("page", p.to_string())];
        if !kind_name.is_empty() {
            pairs.insert(0, ("type", kind_name.to_owned()));
        }
        format!(
            "/audit?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let events = rows
        .into_iter()
        .map(|(e, email)| EventRow {
            when: e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            kind: e.kind.as_str(),
            user: email.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            user_agent: e.user_agent.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
        })
        .collect();
    let page_view = AuditPage {
        tenant_name: me.tenant.name.clone(),
        types: AuditEvent::iter()
            .map(|k| (k.as_str(), Some(k) == kind))
            .collect(),
        count,
        events,
        previous: (page > 1).then(|| link(page - 1)),
        next: (offset + PER_PAGE < count).then(|| link(page + 1)),
    };
    let reply = Reply::page(StatusCode::OK, &page_view);
    Ok(me.reply(&state, reply)?.into_response())
}
