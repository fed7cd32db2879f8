//! Tenants (organizations): the slug newtype, the sign-up policy ([`SignupPolicy`]) and the
//! functions on tenants used by the use cases, the CLI, the demo seeding and tests.

mod policy;

use std::fmt;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

pub use policy::{SignupPolicy, UnknownSignupPolicy};

use crate::infra::entities::tenant::{self, Plan};

/// Slugs that would clash with hosts or paths of the system.
const RESERVED: &[&str] = &[
    "auth",
    "www",
    "api",
    "admin",
    "static",
    "login",
    "logout",
    "register",
    "signup",
    "signin",
    "sso",
    "oauth",
    "account",
    "accounts",
    "app",
    "apps",
    "mail",
    "smtp",
    "cdn",
    "assets",
    "status",
    "help",
    "support",
    "root",
    "system",
    "expenses",
    "dashboard",
    "well-known",
    "www1",
    "localhost",
    "internal",
    "billing",
    "docs",
];

/// A valid tenant slug: lowercase `[a-z0-9-]`, 3–63 characters, no leading or trailing
/// hyphen (it is a DNS label in `{slug}.COOKIE_DOMAIN`), not a reserved word.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantSlug(String);

/// Why a slug was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Wrong length or characters.
    #[error(
        "Use 3 to 63 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
    )]
    Format,
    /// A reserved word.
    #[error("This address is reserved; choose another.")]
    Reserved,
}

impl TenantSlug {
    /// Parses a slug exactly as given (no case folding: `Acme` is refused).
    ///
    /// # Errors
    /// [`SlugError`] saying which rule it breaks.
    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        let ok = (3..=63).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if !ok {
            return Err(SlugError::Format);
        }
        if RESERVED.contains(&raw) {
            return Err(SlugError::Reserved);
        }
        Ok(Self(raw.to_owned()))
    }

    /// Parses a slug as a person typed it: surrounding spaces dropped, case folded.
    ///
    /// # Errors
    /// [`SlugError`] saying which rule it breaks.
    pub fn parse_typed(raw: &str) -> Result<Self, SlugError> {
        Self::parse(&raw.trim().to_lowercase())
    }

    /// The slug as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug text derived from an organization name (`"Acme Corp."` → `acme-corp`):
    /// lowercase ASCII letters and digits, other runs become one hyphen, at most 50
    /// characters. It may still be invalid (too short, reserved, empty).
    #[must_use]
    pub fn candidate_from_name(name: &str) -> String {
        let mut slug = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug.chars().take(50).collect();
        slug.trim_matches('-').to_owned()
    }

    /// The derived slug when it is valid as is.
    #[must_use]
    pub fn derive_from_name(name: &str) -> Option<Self> {
        Self::parse(&Self::candidate_from_name(name)).ok()
    }

    /// `base` with a random 6-hex-digit suffix (`org` when `base` is empty), used when
    /// the derived slug is taken or reserved, so that sign-up never reveals which
    /// organizations exist.
    #[must_use]
    pub fn with_random_suffix(base: &str) -> Self {
        let mut bytes = [0u8; 3];
        crate::infra::crypto::fill_random(&mut bytes);
        let base: String = base.chars().take(50).collect();
        let base = base.trim_end_matches('-');
        let base = if base.is_empty() { "org" } else { base };
        Self(format!("{base}-{}", hex::encode(bytes)))
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a tenant could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The slug breaks the rules.
    #[error("invalid slug: {0}")]
    Slug(#[from] SlugError),
    /// The name is empty or longer than 200 characters.
    #[error("the organization name must have 1 to 200 characters")]
    Name,
    /// `max_users` is below 1.
    #[error("max_users must be at least 1")]
    MaxUsers,
    /// Another tenant already has this slug.
    #[error("the slug is taken")]
    SlugTaken,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Creates an active tenant on the `free` plan.
///
/// # Errors
/// [`TenantError`] for a bad name, slug or limit, a taken slug, or a database failure.
pub async fn create_tenant(
    db: &impl ConnectionTrait,
    name: &str,
    slug: &str,
    signup_policy: SignupPolicy,
    max_users: i32,
) -> Result<tenant::Model, TenantError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(TenantError::Name);
    }
    if max_users < 1 {
        return Err(TenantError::MaxUsers);
    }
    let slug = TenantSlug::parse(slug)?;
    let model = tenant::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(name.to_owned()),
        slug: Set(slug.as_str().to_owned()),
        is_active: Set(true),
        plan: Set(Plan::Free),
        max_users: Set(max_users),
        signup_policy: Set(signup_policy),
        created_at: Set(Utc::now()),
        mfa_required: Set(tenant::MfaPolicy::None),
    };
    model.insert(db).await.map_err(|e| {
        if matches!(
            e.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            TenantError::SlugTaken
        } else {
            TenantError::Db(e)
        }
    })
}

/// Write-locks the tenant row inside the caller's transaction (a no-op update), so
/// checks on its users (`max_users`, the last owner) hold under concurrency on SQLite
/// and PostgreSQL alike.
///
/// # Errors
/// A database failure.
pub async fn lock(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<(), sea_orm::DbErr> {
    lock_where(db, tenant::Column::Id.eq(tenant_id)).await
}

/// The tenant with this slug, write-locked before it is read (see [`lock`]). On SQLite a
/// transaction that reads first and writes later fails at once with "database is locked"
/// when another writer committed in between (its snapshot cannot become a write), so a
/// check-then-act transaction starts with its write.
///
/// # Errors
/// A database failure.
pub async fn find_by_slug_locked(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<tenant::Model>, sea_orm::DbErr> {
    lock_where(db, tenant::Column::Slug.eq(slug)).await?;
    find_by_slug(db, slug).await
}

async fn lock_where(
    db: &impl ConnectionTrait,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<(), sea_orm::DbErr> {
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::MaxUsers,
            sea_orm::sea_query::Expr::col(tenant::Column::MaxUsers),
        )
        .filter(condition)
        .exec(db)
        .await
        .map(|_| ())
}

/// The tenant with this slug, active or not.
///
/// # Errors
/// A database failure.
pub async fn find_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<tenant::Model>, sea_orm::DbErr> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// Activates or deactivates a tenant (its users can then neither sign in nor refresh).
///
/// # Errors
/// A database failure.
pub async fn set_active(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    active: bool,
) -> Result<(), sea_orm::DbErr> {
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::IsActive,
            sea_orm::sea_query::Expr::value(active),
        )
        .filter(tenant::Column::Id.eq(tenant_id))
        .exec(db)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_rules() {
        for good in ["acme", "acme-corp", "a1b", &"a".repeat(63)] {
            assert!(TenantSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Acme",
            "acme_corp",
            "-acme",
            "acme-",
            "ac me",
            "ácme",
            &"a".repeat(64),
            "",
        ] {
            assert_eq!(TenantSlug::parse(bad), Err(SlugError::Format), "{bad}");
        }
        for reserved in ["auth", "www", "api", "admin", "static"] {
            assert_eq!(TenantSlug::parse(reserved), Err(SlugError::Reserved));
        }
    }

    #[test]
    fn slugs_derive_from_names() {
        assert_eq!(
            TenantSlug::derive_from_name("Acme Corp.").unwrap().as_str(),
            "acme-corp"
        );
        assert_eq!(
            TenantSlug::derive_from_name("  Big   Co  ")
                .unwrap()
                .as_str(),
            "big-co"
        );
        assert!(TenantSlug::derive_from_name("AB").is_none());
        assert!(TenantSlug::derive_from_name("Admin").is_none());
        assert!(TenantSlug::derive_from_name("日本").is_none());
        for base in ["", "admin", "ab", "acme"] {
            let s = TenantSlug::with_random_suffix(base);
            assert!(TenantSlug::parse(s.as_str()).is_ok(), "{s}");
        }
        assert!(
            TenantSlug::with_random_suffix("admin")
                .as_str()
                .starts_with("admin-")
        );
        assert!(
            TenantSlug::with_random_suffix("")
                .as_str()
                .starts_with("org-")
        );
    }
}
