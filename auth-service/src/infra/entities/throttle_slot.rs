//! `throttle_slots`: the password-guessing limits. A bucket (a SHA-256 naming one
//! account and client address, one account, or one address) has at most N slots
//! (`slot` 0..N); a slot is free when `used_at_ms` (Unix milliseconds) is a window or
//! more ago. `account` (the account's hash) lets an account's buckets be cleared
//! together; `claim` names the attempt holding the slot, so it can give it back.

use sea_orm::entity::prelude::*;

/// A slot row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "throttle_slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i32,
    pub account: Option<String>,
    pub used_at_ms: i64,
    pub claim: Option<Uuid>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
