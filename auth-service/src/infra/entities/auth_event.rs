//! `auth_events`: the audit log. Never holds a password or a token. `kind` is a typed
//! column ([`AuditEvent`]).

use sea_orm::entity::prelude::*;

pub use crate::infra::audit::AuditEvent;

/// An audit event row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: AuditEvent,
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    pub detail: Option<String>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
