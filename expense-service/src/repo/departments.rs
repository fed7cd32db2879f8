//! Department queries, always within one tenant.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr,
};
use uuid::Uuid;

use super::RepoError;
use crate::domain::{DepartmentName, FieldErrors, Money};
use crate::entities::department::{ActiveModel, Column, Entity, Model};
use crate::tenant::TenantScope;

/// A validated new department.
#[derive(Clone, Debug)]
pub struct NewDepartment {
    /// Unique per tenant.
    pub name: DepartmentName,
    /// Optional monthly budget.
    pub monthly_budget: Option<Money>,
}

/// The tenant's departments, by name.
///
/// # Errors
/// Database errors.
pub async fn list(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
) -> Result<Vec<Model>, RepoError> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(scope.tenant_id()))
        .order_by_asc(Column::Name)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// One department of the tenant.
///
/// # Errors
/// [`RepoError::NotFound`] when it is not this tenant's; database errors.
pub async fn get(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Model, RepoError> {
    Entity::find_by_id(id)
        .filter(Column::TenantId.eq(scope.tenant_id()))
        .one(conn)
        .await?
        .ok_or(RepoError::NotFound)
}

/// Creates a department.
///
/// # Errors
/// [`RepoError::Invalid`] with a `name` error when the tenant already has that name (the
/// unique index decides, so two concurrent requests can't both win); database errors.
pub async fn create(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    new: NewDepartment,
) -> Result<Model, RepoError> {
    let row = ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(scope.tenant_id()),
        name: Set(new.name.into_inner()),
        monthly_budget_minor: Set(new.monthly_budget.map(Money::minor)),
        budget_currency: Set(new.monthly_budget.map(|m| m.currency().code().to_owned())),
        created_at: Set(Utc::now()),
    };
    row.insert(conn).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(msg))
            if msg.contains("uq_departments_tenant_name") || msg.contains("departments.name") =>
        {
            let mut errors = FieldErrors::new();
            errors.add("name", "A department with this name already exists.");
            RepoError::Invalid(errors)
        }
        _ => RepoError::Db(e),
    })
}
