//! `departments`: a tenant's cost centres.

use sea_orm::entity::prelude::*;

/// A department row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "departments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// Monthly budget in minor units of `budget_currency`; both or neither are set.
    pub monthly_budget_minor: Option<i64>,
    pub budget_currency: Option<String>,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM (the repository joins by hand, scoped).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
