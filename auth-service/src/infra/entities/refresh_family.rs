//! `refresh_families`: one row per sign-in (the access token's `sid`). Rotation locks
//! this row before it reads the presented token, and every revocation marks it before it
//! revokes the token rows, so the two serialize on the family (see
//! `accounts::sessions`).

use sea_orm::entity::prelude::*;

/// A refresh family (one sign-in).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_families")]
pub struct Model {
    /// The family id, the tokens' `family_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    /// The sign-in.
    pub created_at: DateTimeUtc,
    /// Absolute end of the sign-in.
    pub expires_at: DateTimeUtc,
    /// The last rotation (written by the rotation's lock).
    pub last_used_at: DateTimeUtc,
    /// Set once, by any revocation; a revoked family never rotates again.
    pub revoked_at: Option<DateTimeUtc>,
    /// How the sign-in was authenticated (RFC 8176 values, space-separated): the access
    /// tokens' `amr`.
    pub amr: String,
}

/// No navigable relations: queries join by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
