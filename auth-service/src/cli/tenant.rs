//! `auth-service tenant create|list|set|disable|enable`.

use clap::Subcommand;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::{CliError, Out, cli_context, database, input};
use crate::accounts::admin::{self, Actor};
use crate::accounts::organization::{self, SettingsError, TenantChange};
use crate::accounts::tenants::{self, SignupPolicy, TenantError};
use crate::config::Settings;
use crate::infra::audit::{self, AuditEvent};
use crate::infra::entities::{tenant, user};

/// Organization commands.
#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create an organization.
    Create {
        /// Short name: 3–63 of a-z, 0-9 and '-', e.g. `acme` (its DNS label).
        #[arg(long)]
        slug: String,
        /// Display name, e.g. "Acme Inc.".
        #[arg(long)]
        name: String,
        /// Who may sign up: `open`, `invite_only` or `domains:a.test,b.test`.
        #[arg(long, default_value = "invite_only", value_parser = parse_policy)]
        signup_policy: SignupPolicy,
        /// Most users it may have.
        #[arg(long, default_value_t = 50)]
        max_users: i32,
    },
    /// List organizations.
    List,
    /// Change an organization's name, sign-up policy or user limit (the limit never
    /// below its current number of users).
    Set {
        /// Its slug.
        slug: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// Who may sign up: `open`, `invite_only` or `domains:a.test,b.test`.
        #[arg(long, value_parser = parse_policy)]
        signup_policy: Option<SignupPolicy>,
        /// Most users it may have.
        #[arg(long)]
        max_users: Option<i32>,
        /// Who must have a second factor: `none`, `admins` (owners and admins) or `everyone`.
        #[arg(long, value_parser = crate::infra::entities::tenant::MfaPolicy::parse)]
        mfa_required: Option<crate::infra::entities::tenant::MfaPolicy>,
    },
    /// Deactivate an organization: its users can no longer sign in; all sessions end.
    Disable {
        /// Its slug.
        slug: String,
    },
    /// Re-activate an organization.
    Enable {
        /// Its slug.
        slug: String,
    },
}

fn parse_policy(raw: &str) -> Result<SignupPolicy, String> {
    organization::parse_policy(raw).map_err(str::to_owned)
}

/// A tenant as JSON.
#[must_use]
pub fn tenant_json(t: &tenant::Model, users: Option<u64>) -> Value {
    json!({
        "id": t.id,
        "slug": t.slug,
        "name": t.name,
        "is_active": t.is_active,
        "signup_policy": t.signup_policy,
        "max_users": t.max_users,
        "mfa_required": t.mfa_required,
        "users": users,
        "created_at": t.created_at,
    })
}

/// Finds an organization by slug or fails with a clear message.
///
/// # Errors
/// [`CliError::Input`] when there is none.
pub async fn find(db: &sea_orm::DatabaseConnection, slug: &str) -> Result<tenant::Model, CliError> {
    tenants::find_by_slug(db, slug)
        .await?
        .ok_or_else(|| input(format!("no organization with slug \"{slug}\"")))
}

/// Runs a tenant command.
///
/// # Errors
/// Bad input or a database failure.
pub async fn run(command: TenantCommand, settings: &Settings, out: Out) -> Result<(), CliError> {
    let db = database(settings).await?;
    match command {
        TenantCommand::Create {
            slug,
            name,
            signup_policy,
            max_users,
        } => {
            let t = tenants::create_tenant(&db, &name, &slug, signup_policy, max_users)
                .await
                .map_err(|e| match e {
                    TenantError::Db(e) => CliError::from(e),
                    TenantError::SlugTaken => input(format!(
                        "an organization with slug \"{slug}\" already exists"
                    )),
                    other => input(other.to_string()),
                })?;
            audit::record(
                &db,
                AuditEvent::TenantCreated,
                Some(t.id),
                None,
                &cli_context(),
                Some(format!("slug {}", t.slug)),
            )
            .await?;
            out.emit(
                &format!("Created organization {} ({}), id {}", t.slug, t.name, t.id),
                &tenant_json(&t, Some(0)),
            );
        }
        TenantCommand::List => {
            let all = tenant::Entity::find()
                .order_by_asc(tenant::Column::Slug)
                .all(&db)
                .await?;
            let mut rows = Vec::new();
            let mut text = format!(
                "{:<24} {:<8} {:>5} {:>9}  {:<16} NAME",
                "SLUG", "ACTIVE", "USERS", "MAX_USERS", "SIGNUP"
            );
            for t in &all {
                let n = user::Entity::find()
                    .filter(user::Column::TenantId.eq(t.id))
                    .count(&db)
                    .await?;
                text.push_str(&format!(
                    "\n{:<24} {:<8} {:>5} {:>9}  {:<16} {}",
                    t.slug,
                    if t.is_active { "yes" } else { "no" },
                    n,
                    t.max_users,
                    t.signup_policy,
                    t.name
                ));
                rows.push(tenant_json(t, Some(n)));
            }
            if all.is_empty() {
                text = "No organizations.".to_owned();
            }
            out.emit(&text, &Value::Array(rows));
        }
        TenantCommand::Set {
            slug,
            name,
            signup_policy,
            max_users,
            mfa_required,
        } => {
            if name.is_none()
                && signup_policy.is_none()
                && max_users.is_none()
                && mfa_required.is_none()
            {
                return Err(input(
                    "nothing to change: give --name, --signup-policy, --max-users or --mfa-required",
                ));
            }
            let t = find(&db, &slug).await?;
            let change = TenantChange {
                name,
                signup_policy,
                max_users,
                mfa_required,
            };
            let t =
                organization::update_settings(&db, Actor::Operator, t.id, change, &cli_context())
                    .await
                    .map_err(|e| match e {
                        SettingsError::Db(e) => CliError::from(e),
                        other => input(other.to_string()),
                    })?;
            let n = user::Entity::find()
                .filter(user::Column::TenantId.eq(t.id))
                .count(&db)
                .await?;
            out.emit(
                &format!(
                    "Updated organization {} ({}): sign-up {}, {n} of at most {} users",
                    t.slug, t.name, t.signup_policy, t.max_users
                ),
                &tenant_json(&t, Some(n)),
            );
        }
        TenantCommand::Disable { slug } => set_active(&db, &slug, false, out).await?,
        TenantCommand::Enable { slug } => set_active(&db, &slug, true, out).await?,
    }
    Ok(())
}

async fn set_active(
    db: &sea_orm::DatabaseConnection,
    slug: &str,
    active: bool,
    out: Out,
) -> Result<(), CliError> {
    let t = find(db, slug).await?;
    admin::set_tenant_active(db, t.id, active, &cli_context()).await?;
    let t = find(db, slug).await?;
    let verb = if active { "Enabled" } else { "Disabled" };
    out.emit(
        &format!("{verb} organization {} ({})", t.slug, t.name),
        &tenant_json(&t, None),
    );
    Ok(())
}
