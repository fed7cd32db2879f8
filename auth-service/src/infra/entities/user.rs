//! `users`: an account inside one tenant. `email_normalized` (trimmed, lowercase) is
//! unique per tenant (`ux_users_tenant_email`); `email` keeps what was typed. `role` is
//! a typed column ([`UserRole`]): an unknown stored value fails the read instead of
//! being taken for some role.

use std::fmt;

use sea_orm::entity::prelude::*;
use shared_jwt::Role;

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
    pub role: UserRole,
    pub is_active: bool,
    /// The address was proven by a mailed link (or an accepted invitation).
    pub email_verified: bool,
    /// Created under a `domains:` sign-up policy: no sign-in or token until verified.
    pub verification_required: bool,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
}

/// The stored role: the same four values as the token's [`Role`] claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// Reads.
    #[sea_orm(string_value = "viewer")]
    Viewer,
    /// Also creates and edits its own things.
    #[sea_orm(string_value = "member")]
    Member,
    /// Also manages other people's things.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Owns the tenant.
    #[sea_orm(string_value = "owner")]
    Owner,
}

impl From<UserRole> for Role {
    fn from(r: UserRole) -> Self {
        match r {
            UserRole::Viewer => Self::Viewer,
            UserRole::Member => Self::Member,
            UserRole::Admin => Self::Admin,
            UserRole::Owner => Self::Owner,
        }
    }
}

impl From<Role> for UserRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => Self::Viewer,
            Role::Member => Self::Member,
            Role::Admin => Self::Admin,
            Role::Owner => Self::Owner,
        }
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Role::from(*self).as_str())
    }
}

impl Model {
    /// The role as the token claims it.
    #[must_use]
    pub fn claim_role(&self) -> Role {
        self.role.into()
    }

    /// An account that must prove its address before it may sign in or get a token.
    #[must_use]
    pub fn awaits_verification(&self) -> bool {
        self.verification_required && !self.email_verified
    }
}

/// No navigable relations: queries join by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
