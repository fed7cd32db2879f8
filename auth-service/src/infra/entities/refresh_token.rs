//! `refresh_tokens`: one row per issued refresh token, chained by `successor_id` inside a
//! family (one sign-in). Only the SHA-256 of a token is stored, never the token.

use sea_orm::entity::prelude::*;

/// A refresh-token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The sign-in this token descends from; the access token's `sid`.
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    /// Lowercase hex SHA-256 of the token.
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub family_created_at: DateTimeUtc,
    /// Absolute end of the sign-in, however often it is refreshed.
    pub family_expires_at: DateTimeUtc,
    pub rotated_at: Option<DateTimeUtc>,
    pub successor_id: Option<Uuid>,
    pub revoked_at: Option<DateTimeUtc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// No navigable relations: queries join by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
