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
    /// Who must have a second factor ([`MfaPolicy`]).
    pub mfa_required: MfaPolicy,
}

/// The tenant policy `mfa_required`: whose sign-in needs a second factor.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum MfaPolicy {
    /// Nobody (a second factor is optional).
    #[default]
    #[sea_orm(string_value = "none")]
    None,
    /// Owners and admins.
    #[sea_orm(string_value = "admins")]
    Admins,
    /// Every member.
    #[sea_orm(string_value = "everyone")]
    Everyone,
}

impl MfaPolicy {
    /// Parses `none`, `admins` or `everyone`.
    ///
    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "none" => Ok(Self::None),
            "admins" => Ok(Self::Admins),
            "everyone" => Ok(Self::Everyone),
            other => Err(format!("`{other}`: expected none, admins or everyone")),
        }
    }

    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Admins => "admins",
            Self::Everyone => "everyone",
        }
    }

    /// Whether the policy requires a second factor of a user with `role`.
    #[must_use]
    pub fn covers(self, role: super::user::UserRole) -> bool {
        use super::user::UserRole;
        match self {
            Self::None => false,
            Self::Admins => matches!(role, UserRole::Admin | UserRole::Owner),
            Self::Everyone => true,
        }
    }
}

impl std::fmt::Display for MfaPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
