//! Reading the audit log (the JSON API, the `/audit` page and `auth-service audit list`):
//! one organization's events, newest first, filtered by type, user and time, a bounded page
//! at a time. Events hold ids, the client address, the user agent and a short detail —
//! never a password, token or secret ([`crate::infra::audit::record`] is the one writer).

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, Iterable as _, PaginatorTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Select,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::infra::audit::AuditEvent;
use crate::infra::entities::{auth_event, user};

/// Which events.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// One organization (`None`: every one, for operators only).
    pub tenant_id: Option<Uuid>,
    /// One event type.
    pub kind: Option<AuditEvent>,
    /// One user.
    pub user_id: Option<Uuid>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
}

/// An event type by its stored name (`login_success`, …).
#[must_use]
pub fn parse_kind(name: &str) -> Option<AuditEvent> {
    AuditEvent::iter().find(|k| k.as_str() == name.trim())
}

fn select(filter: &AuditFilter) -> Select<auth_event::Entity> {
    let mut q = auth_event::Entity::find();
    if let Some(t) = filter.tenant_id {
        q = q.filter(auth_event::Column::TenantId.eq(t));
    }
    if let Some(k) = filter.kind {
        q = q.filter(auth_event::Column::Kind.eq(k));
    }
    if let Some(u) = filter.user_id {
        q = q.filter(auth_event::Column::UserId.eq(u));
    }
    if let Some(s) = filter.since {
        q = q.filter(auth_event::Column::CreatedAt.gte(s));
    }
    if let Some(u) = filter.until {
        q = q.filter(auth_event::Column::CreatedAt.lt(u));
    }
    q
}

/// One page of events (newest first) with their users' addresses, and the total count.
///
/// # Errors
/// A database failure.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<(auth_event::Model, Option<String>)>, u64), DbErr> {
    let count = select(filter).count(db).await?;
    let rows = select(filter)
        .order_by_desc(auth_event::Column::CreatedAt)
        .order_by_desc(auth_event::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|e| e.user_id).collect();
    let emails: std::collections::HashMap<Uuid, String> = if ids.is_empty() {
        std::collections::HashMap::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect()
    };
    let rows = rows
        .into_iter()
        .map(|e| {
            let email = e.user_id.and_then(|id| emails.get(&id).cloned());
            (e, email)
        })
        .collect();
    Ok((rows, count))
}

/// The JSON of one event.
#[must_use]
pub fn event_json(event: &auth_event::Model, email: Option<&str>) -> Value {
    json!({
        "id": event.id,
        "type": event.kind.as_str(),
        "created_at": event.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "tenant_id": event.tenant_id,
        "user_id": event.user_id,
        "user_email": email,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "detail": event.detail,
    })
}
