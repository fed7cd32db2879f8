//! User administration, shared by the JSON API (owners and admins) and the management
//! CLI (the operator): list a tenant's users, change a user's role or active flag,
//! (de)activate a tenant, each change audited.
//!
//! Rules, checked inside one transaction that first write-locks the tenant row (so two
//! owners demoting each other at once cannot leave the tenant without one):
//! - nobody reaches a user of another tenant ([`AdminError::NotFound`]);
//! - below `admin` nobody administers anyone; nobody grants a role above their own
//!   ([`may_grant`]: an admin up to admin, an owner up to owner — the same rule for
//!   invitations, [`crate::accounts::invitations`]); an admin cannot change an owner
//!   ([`AdminError::Forbidden`]);
//! - the last active owner can be neither demoted nor deactivated ([`AdminError::LastOwner`]);
//! - deactivating a user revokes all of their sessions.
//!
//! Each change is audited as what it is: [`AuditEvent::RoleChanged`],
//! [`AuditEvent::UserDeactivated`], [`AuditEvent::UserReactivated`].

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use shared_jwt::Role;
use uuid::Uuid;

use crate::accounts::sessions;
use crate::infra::audit::{AuditEvent, EventContext, record};
use crate::infra::entities::user;
use crate::infra::entities::user::UserRole;

/// Who asks for a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The operator at the management CLI (all roles, still bound by the last-owner rule).
    Operator,
    /// A signed-in user of `tenant_id`.
    User {
        /// Their id.
        user_id: Uuid,
        /// Their tenant.
        tenant_id: Uuid,
        /// Their role.
        role: Role,
    },
}

impl Actor {
    fn user_id(self) -> Option<Uuid> {
        match self {
            Self::Operator => None,
            Self::User { user_id, .. } => Some(user_id),
        }
    }
}

/// A change of role and/or active flag (`None` = unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserChange {
    /// New role.
    pub role: Option<Role>,
    /// New active flag.
    pub is_active: Option<bool>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such user in the actor's tenant.
    #[error("not found")]
    NotFound,
    /// The actor's role does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The change would leave the tenant without an active owner.
    #[error("the organization must keep at least one active owner")]
    LastOwner,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Message for a role below `admin`.
pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";

/// Whether someone of role `actor` may give role `role` (invite with it, or change a
/// user to it): only from `admin` up, and never above their own role.
#[must_use]
pub fn may_grant(actor: Role, role: Role) -> bool {
    actor.at_least(Role::Admin) && actor >= role
}

/// The message when [`may_grant`] says no.
#[must_use]
pub fn grant_refused(actor: Role) -> &'static str {
    if actor.at_least(Role::Admin) {
        "Only an owner can make owners."
    } else {
        NO_PERMISSION
    }
}

/// One page of a tenant's users (oldest first) and the total count.
///
/// # Errors
/// A database failure.
pub async fn list_users(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    offset: u64,
    limit: u64,
) -> Result<(Vec<user::Model>, u64), sea_orm::DbErr> {
    let query = user::Entity::find().filter(user::Column::TenantId.eq(tenant_id));
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Changes a user's role and/or active flag under the rules of the module docs.
///
/// # Errors
/// [`AdminError`].
pub async fn update_user(
    db: &DatabaseConnection,
    actor: Actor,
    tenant_id: Uuid,
    user_id: Uuid,
    change: UserChange,
    ctx: &EventContext,
) -> Result<user::Model, AdminError> {
    if let Actor::User {
        role,
        tenant_id: own,
        ..
    } = actor
    {
        if !role.at_least(Role::Admin) {
            return Err(AdminError::Forbidden(NO_PERMISSION));
        }
        if own != tenant_id {
            return Err(AdminError::NotFound);
        }
    }
    let txn = db.begin().await?;
    crate::accounts::tenants::lock(&txn, tenant_id).await?;
    let target = user::Entity::find_by_id(user_id)
        .filter(user::Column::TenantId.eq(tenant_id))
        .one(&txn)
        .await?
        .ok_or(AdminError::NotFound)?;
    let current: Role = target.role.into();
    if let Actor::User {
        user_id: actor_id, ..
    } = actor
    {
        // The caller's role as of now, under the lock: a concurrent demotion counts.
        let role = user::Entity::find_by_id(actor_id)
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user::Column::IsActive.eq(true))
            .one(&txn)
            .await?
            .map(|a| a.claim_role());
        // Gone or deactivated meanwhile: no role at all.
        let Some(role) = role else {
            return Err(AdminError::Forbidden(NO_PERMISSION));
        };
        if !role.at_least(Role::Admin) {
            return Err(AdminError::Forbidden(NO_PERMISSION));
        }
        if role != Role::Owner && current == Role::Owner {
            return Err(AdminError::Forbidden("Only an owner can change an owner."));
        }
        if let Some(new) = change.role
            && !may_grant(role, new)
        {
            return Err(AdminError::Forbidden(grant_refused(role)));
        }
    }
    let new_role = change.role.unwrap_or(current);
    let new_active = change.is_active.unwrap_or(target.is_active);
    if current == Role::Owner && target.is_active && (new_role != Role::Owner || !new_active) {
        let others = user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user::Column::Role.eq(UserRole::Owner))
            .filter(user::Column::IsActive.eq(true))
            .filter(user::Column::Id.ne(user_id))
            .count(&txn)
            .await?;
        if others == 0 {
            return Err(AdminError::LastOwner);
        }
    }
    if new_role == current && new_active == target.is_active {
        return Ok(target);
    }
    let by = actor
        .user_id()
        .map_or_else(|| "by the operator".to_owned(), |id| format!("by {id}"));
    let mut events = Vec::new();
    if new_role != current {
        let detail = format!("role {} -> {} {by}", current.as_str(), new_role.as_str());
        events.push((AuditEvent::RoleChanged, detail));
    }
    if new_active != target.is_active {
        let kind = if new_active {
            AuditEvent::UserReactivated
        } else {
            AuditEvent::UserDeactivated
        };
        events.push((kind, by.clone()));
    }
    let was_active = target.is_active;
    let mut model = target.into_active_model();
    model.role = Set(new_role.into());
    model.is_active = Set(new_active);
    let updated = model.update(&txn).await?;
    if was_active && !new_active {
        sessions::revoke_all_for_user(&txn, user_id).await?;
    }
    for (kind, detail) in events {
        record(
            &txn,
            kind,
            Some(tenant_id),
            Some(user_id),
            ctx,
            Some(detail),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// Activates or deactivates a tenant; deactivating also revokes every session in it.
///
/// # Errors
/// A database failure.
pub async fn set_tenant_active(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    active: bool,
    ctx: &EventContext,
) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    crate::accounts::tenants::set_active(&txn, tenant_id, active).await?;
    if !active {
        sessions::revoke_all_in_tenant(&txn, tenant_id).await?;
    }
    record(
        &txn,
        AuditEvent::TenantUpdated,
        Some(tenant_id),
        None,
        ctx,
        Some(format!("active {active}")),
    )
    .await?;
    txn.commit().await
}
