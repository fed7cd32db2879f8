//! A tenant's settings — name, sign-up policy, user limit — changed by its owners
//! (`/organization`) or the operator (`auth-service tenant set`), one rule set for both:
//! the name has 1–200 characters, a `domains:` policy names at least one plausible
//! domain, and the user limit is at least 1 and never below the current number of
//! users (checked under the tenant's lock, so a concurrent sign-up cannot slip past).
//! Audited as [`AuditEvent::TenantUpdated`].

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use shared_jwt::Role;
use uuid::Uuid;

use crate::accounts::admin::Actor;
use crate::accounts::signup::parse_organization_name;
use crate::accounts::tenants::SignupPolicy;
use crate::infra::audit::{AuditEvent, EventContext, record};
use crate::infra::entities::{tenant, user};

/// The largest user limit a tenant may be given.
pub const MAX_USER_LIMIT: i32 = 1_000_000;

/// A change of settings (`None` = unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantChange {
    /// New name.
    pub name: Option<String>,
    /// New sign-up policy.
    pub signup_policy: Option<SignupPolicy>,
    /// New user limit.
    pub max_users: Option<i32>,
    /// New second-factor policy.
    pub mfa_required: Option<tenant::MfaPolicy>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Only the tenant's owners (and the operator) change its settings.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such tenant.
    #[error("no such organization")]
    NotFound,
    /// The name is blank or too long.
    #[error("{0}")]
    Name(&'static str),
    /// The limit is out of range or below the current number of users.
    #[error("{0}")]
    MaxUsers(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Parses a sign-up policy as typed: `open`, `invite_only` or `domains:a.test,b.test`
/// with at least one domain, each with a dot and only letters, digits, `-` and `.`.
///
/// # Errors
/// A message for the field.
pub fn parse_policy(raw: &str) -> Result<SignupPolicy, &'static str> {
    const MESSAGE: &str = "Unknown sign-up policy: expected open, invite_only or \
domains:a.test,b.test (a comma-separated list of domains).";
    let raw = raw.trim();
    if raw.len() > 1000 {
        return Err(MESSAGE);
    }
    let policy: SignupPolicy = raw.to_ascii_lowercase().parse().map_err(|_| MESSAGE)?;
    if let SignupPolicy::Domains(list) = &policy {
        let plausible = |d: &String| {
            d.len() <= 253
                && d.contains('.')
                && !d.starts_with(['.', '-'])
                && !d.ends_with(['.', '-'])
                && !d.contains("..")
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        if list.is_empty() || !list.iter().all(plausible) {
            return Err(MESSAGE);
        }
    }
    Ok(policy)
}

/// Parses a user limit as typed.
///
/// # Errors
/// A message for the field.
pub fn parse_max_users(raw: &str) -> Result<i32, String> {
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=MAX_USER_LIMIT).contains(n))
        .ok_or_else(|| format!("Enter a whole number from 1 to {MAX_USER_LIMIT}."))
}

/// Applies `change` to the tenant under the rules of the module docs.
///
/// # Errors
/// [`SettingsError`].
pub async fn update_settings(
    db: &DatabaseConnection,
    actor: Actor,
    tenant_id: Uuid,
    change: TenantChange,
    ctx: &EventContext,
) -> Result<tenant::Model, SettingsError> {
    let name = change
        .name
        .as_deref()
        .map(parse_organization_name)
        .transpose()
        .map_err(SettingsError::Name)?;
    if let Some(n) = change.max_users
        && !(1..=MAX_USER_LIMIT).contains(&n)
    {
        return Err(SettingsError::MaxUsers(format!(
            "The user limit must be from 1 to {MAX_USER_LIMIT}."
        )));
    }
    let txn = db.begin().await?;
    crate::accounts::tenants::lock(&txn, tenant_id).await?;
    let current = tenant::Entity::find_by_id(tenant_id)
        .one(&txn)
        .await?
        .ok_or(SettingsError::NotFound)?;
    if let Actor::User {
        user_id,
        tenant_id: own,
        ..
    } = actor
    {
        if own != tenant_id {
            return Err(SettingsError::NotFound);
        }
        // The caller's role as of now, under the lock.
        let role = user::Entity::find_by_id(user_id)
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user::Column::IsActive.eq(true))
            .one(&txn)
            .await?
            .map(|u| u.claim_role());
        if role != Some(Role::Owner) {
            return Err(SettingsError::Forbidden(
                "Only an owner can change the organization's settings.",
            ));
        }
    }
    let users = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .count(&txn)
        .await?;
    if let Some(n) = change.max_users
        && u64::try_from(n).unwrap_or(0) < users
    {
        return Err(SettingsError::MaxUsers(format!(
            "The organization already has {users} users: the limit cannot be lower."
        )));
    }
    let mut parts = Vec::new();
    let mut model = current.clone().into_active_model();
    if let Some(name) = name.filter(|n| *n != current.name) {
        parts.push("name".to_owned());
        model.name = Set(name);
    }
    if let Some(p) = change.signup_policy.filter(|p| *p != current.signup_policy) {
        parts.push(format!("signup_policy {} -> {p}", current.signup_policy));
        model.signup_policy = Set(p);
    }
    if let Some(n) = change.max_users.filter(|n| *n != current.max_users) {
        parts.push(format!("max_users {} -> {n}", current.max_users));
        model.max_users = Set(n);
    }
    if let Some(p) = change.mfa_required.filter(|p| *p != current.mfa_required) {
        parts.push(format!("mfa_required {} -> {p}", current.mfa_required));
        model.mfa_required = Set(p);
    }
    if parts.is_empty() {
        return Ok(current);
    }
    let updated = model.update(&txn).await?;
    let by = match actor {
        Actor::Operator => "by the operator".to_owned(),
        Actor::User { user_id, .. } => format!("by {user_id}"),
    };
    record(
        &txn,
        AuditEvent::TenantUpdated,
        Some(tenant_id),
        None,
        ctx,
        Some(format!("{} {by}", parts.join(", "))),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_as_typed() {
        assert_eq!(parse_policy(" open "), Ok(SignupPolicy::Open));
        assert_eq!(parse_policy("invite_only"), Ok(SignupPolicy::InviteOnly));
        assert_eq!(
            parse_policy("domains:A.test, b.test"),
            Ok(SignupPolicy::Domains(vec![
                "a.test".into(),
                "b.test".into()
            ]))
        );
        for bad in [
            "",
            "closed",
            "domains:",
            "domains:,",
            "domains:localhost",
            "domains:a..test",
            "domains:<x>.test",
            &format!("domains:{}.test", "a".repeat(1000)),
        ] {
            assert!(parse_policy(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_as_typed() {
        assert_eq!(parse_max_users(" 5 "), Ok(5));
        for bad in ["0", "-1", "x", "", "99999999999", "1000001"] {
            assert!(parse_max_users(bad).is_err(), "{bad}");
        }
    }
}
