//! `users`: an account inside one tenant. `email_normalized` (trimmed, lowercase) is
//! unique per tenant (`ux_users_tenant_email`); `email` keeps what was typed.

use sea_orm::entity::prelude::*;

/// A user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub email_normalized: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    /// `owner`, `admin`, `member` or `viewer`.
    pub role: String,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
}

/// No navigable relations: queries join by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
