//! `login_failures`: one row per failed sign-in per throttle key (a SHA-256 of
//! `account:{slug}:{email}` or `ip:{addr}`), counted in a sliding window.

use sea_orm::entity::prelude::*;

/// A failure row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub throttle_key: String,
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
