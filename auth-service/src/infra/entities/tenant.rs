//! `tenants`: an organization. `signup_policy` is `open`, `invite_only` or
//! `domains:a.test,b.test` (see [`SignupPolicy`]) and `plan` is a [`Plan`]: both are
//! typed columns, so an unknown stored value fails the read.

use sea_orm::entity::prelude::*;

pub use crate::accounts::tenants::SignupPolicy;

/// A tenant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub is_active: bool,
    pub plan: Plan,
    pub max_users: i32,
    pub signup_policy: SignupPolicy,
    pub created_at: DateTimeUtc,
}

/// The billing plan (only `free` exists so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// The free plan.
    #[sea_orm(string_value = "free")]
    Free,
}

/// No navigable relations: queries join by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
