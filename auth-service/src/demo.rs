//! The demo organization for the one-command start (`auth-service demo`): `acme`
//! ("Acme Inc.", open sign-up) with an owner and a member. Idempotent: running it again
//! re-activates the organization and the two accounts and resets their roles and
//! passwords to the documented ones, so the printed credentials are always true.
//!
//! The passwords are fixed and public — development and demonstrations only; they pass
//! the password policy (length, not common, not the address):
//!
//! | account | password |
//! |---|---|
//! | `owner@acme.test` (owner) | `acme-owner-demo-pass` |
//! | `member@acme.test` (member) | `acme-member-demo-pass` |

use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel, Set};
use secrecy::SecretString;
use shared_jwt::Role;

use crate::accounts::tenants::{self, SignupPolicy};
use crate::accounts::users;
use crate::infra::entities::tenant;
use crate::infra::password;

/// The demo organization's slug.
pub const TENANT_SLUG: &str = "acme";
/// Its name.
pub const TENANT_NAME: &str = "Acme Inc.";
/// How many users it may have.
pub const MAX_USERS: i32 = 50;

/// One demo account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoAccount {
    /// Address.
    pub email: &'static str,
    /// The fixed, documented, development-only password.
    pub password: &'static str,
    /// Role.
    pub role: Role,
    /// Given name.
    pub first_name: &'static str,
    /// Family name.
    pub last_name: &'static str,
}

/// The owner and the member.
pub const ACCOUNTS: [DemoAccount; 2] = [
    DemoAccount {
        email: "owner@acme.test",
        password: "acme-owner-demo-pass",
        role: Role::Owner,
        first_name: "Olivia",
        last_name: "Owner",
    },
    DemoAccount {
        email: "member@acme.test",
        password: "acme-member-demo-pass",
        role: Role::Member,
        first_name: "Max",
        last_name: "Member",
    },
];

/// What [`seed`] did.
#[derive(Debug)]
pub struct Seeded {
    /// The organization.
    pub tenant: tenant::Model,
    /// Whether the organization was created now (false: it existed).
    pub created: bool,
}

/// The three lines scripts show (`Demo organization: …`, then one per account).
#[must_use]
pub fn lines() -> Vec<String> {
    let mut out = vec![format!("Demo organization: {TENANT_SLUG} ({TENANT_NAME})")];
    for a in ACCOUNTS {
        out.push(format!(
            "  {:<7} {} / {}",
            a.role.as_str(),
            a.email,
            a.password
        ));
    }
    out
}

/// Creates or repairs the demo organization and its two accounts.
///
/// # Errors
/// A database or hashing failure, or a tenant/user rule (e.g. a full organization).
pub async fn seed(db: &DatabaseConnection) -> anyhow::Result<Seeded> {
    let (tenant, created) = match tenants::find_by_slug(db, TENANT_SLUG).await? {
        Some(t) => (t, false),
        None => {
            let t =
                tenants::create_tenant(db, TENANT_NAME, TENANT_SLUG, SignupPolicy::Open, MAX_USERS)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating the demo organization: {e}"))?;
            (t, true)
        }
    };
    if !tenant.is_active {
        tenants::set_active(db, tenant.id, true).await?;
    }
    for a in ACCOUNTS {
        match users::find_by_email(db, tenant.id, a.email).await? {
            None => {
                users::create_user(
                    db,
                    tenant.id,
                    a.email,
                    a.password,
                    a.first_name,
                    a.last_name,
                    a.role,
                )
                .await
                .map_err(|e| anyhow::anyhow!("creating {}: {e}", a.email))?;
            }
            Some(existing) => {
                let hash = password::hash_unbounded(&SecretString::from(a.password))
                    .await
                    .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
                let mut model = existing.into_active_model();
                model.password_hash = Set(hash);
                model.role = Set(a.role.into());
                model.is_active = Set(true);
                model.update(db).await?;
            }
        }
    }
    let tenant = tenants::find_by_slug(db, TENANT_SLUG)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo organization vanished"))?;
    Ok(Seeded { tenant, created })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_passwords_pass_the_policy_and_lines_are_exact() {
        for a in ACCOUNTS {
            assert_eq!(password::check_policy(a.password, a.email), Ok(()));
        }
        assert_eq!(
            lines(),
            vec![
                "Demo organization: acme (Acme Inc.)",
                "  owner   owner@acme.test / acme-owner-demo-pass",
                "  member  member@acme.test / acme-member-demo-pass",
            ]
        );
    }
}
