//! `tenants`: an organization. `signup_policy` is `open`, `invite_only` or
//! `domains:a.test,b.test` (see [`crate::tenants::SignupPolicy`]).

use sea_orm::entity::prelude::*;

/// A tenant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub is_active: bool,
    pub plan: String,
    pub max_users: i32,
    pub signup_policy: String,
    pub created_at: DateTimeUtc,
}

/// No navigable relations: queries join by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
