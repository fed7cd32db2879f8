//! `mfa_challenges`: a sign-in waiting for its second step (5 minutes, single use). Only
//! the SHA-256 of its token is stored; the token itself is in the browser's cookie or
//! the API client's `mfa_token`.

use sea_orm::entity::prelude::*;

/// A pending second step.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub token_hash: String,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    /// `verify` (a code is due) or `setup` (the tenant policy requires a factor first);
    /// prefixed `api-` for `jwt/create/mfa/`.
    pub purpose: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
