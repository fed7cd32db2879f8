//! `auth-service user create|list|set-role|disable|enable|set-password|unlock|reset-mfa`.
//! The operator is not bound by roles, but by the same rules otherwise: the password
//! policy, the tenant's `max_users`, the last active owner, and sessions revoked on
//! deactivation or a password reset. `unlock` clears the account's password-guessing
//! counts (audited). `reset-mfa` is the recovery path of a user who lost every second
//! factor and their recovery codes: it removes the authenticator app, the recovery codes
//! and the passkeys, and ends every session of the user (audited `mfa_reset`).

use clap::Subcommand;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use shared_jwt::Role;

use super::tenant::find as find_tenant;
use super::{CliError, Out, cli_context, database, input, read_password};
use crate::accounts::admin::{self, Actor, AdminError, UserChange};
use crate::accounts::throttle;
use crate::accounts::users::{self, UserError};
use crate::accounts::{mfa, profile};
use crate::config::Settings;
use crate::infra::audit::{self, AuditEvent};
use crate::infra::entities::{tenant, user};
use crate::infra::password;

/// User commands. The password of `create` and `set-password` is read from standard
/// input (first line) or, on a terminal, a hidden prompt.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user (password from stdin or a prompt).
    Create {
        /// The organization's slug.
        #[arg(long)]
        tenant: String,
        /// Address.
        #[arg(long)]
        email: String,
        /// Given name.
        #[arg(long)]
        first_name: String,
        /// Family name.
        #[arg(long)]
        last_name: String,
        /// owner, admin, member or viewer.
        #[arg(long, default_value = "member", value_parser = parse_role)]
        role: Role,
    },
    /// List an organization's users.
    List {
        /// The organization's slug.
        #[arg(long)]
        tenant: String,
    },
    /// Change a user's role.
    SetRole {
        /// The organization's slug.
        #[arg(long)]
        tenant: String,
        /// The user's address.
        #[arg(long)]
        email: String,
        /// owner, admin, member or viewer.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Deactivate a user and end all of their sessions.
    Disable {
        /// The organization's slug.
        #[arg(long)]
        tenant: String,
        /// The user's address.
        #[arg(long)]
        email: String,
    },
    /// Re-activate a user.
    Enable {
        /// The organization's slug.
        #[arg(long)]
        tenant: String,
        /// The user's address.
        #[arg(long)]
        email: String,
    },
    /// Set a user's password (from stdin or a prompt); all of their sessions end.
    SetPassword {
        /// The organization's slug.
        #[arg(long)]
        tenant: String,
        /// The user's address.
        #[arg(long)]
        email: String,
    },
    /// Remove a user's second factors (authenticator app, recovery codes, passkeys) and end
    /// all of their sessions: the recovery path when every factor and code is lost.
    ResetMfa {
        /// The user's address.
        email: String,
        /// The organization's slug (needed only when the address has accounts in several).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Clear a user's password-guessing limits (from every address), so they can sign in
    /// at once.
    Unlock {
        /// The organization's slug.
        #[arg(long)]
        tenant: String,
        /// The user's address.
        #[arg(long)]
        email: String,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse::<Role>()
        .map_err(|_| "expected owner, admin, member or viewer".to_owned())
}

fn user_json(u: &user::Model, t: &tenant::Model) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "role": u.role,
        "is_active": u.is_active,
        "tenant_slug": t.slug,
        "created_at": u.created_at,
        "last_login": u.last_login_at,
    })
}

async fn find_user(
    db: &sea_orm::DatabaseConnection,
    t: &tenant::Model,
    email: &str,
) -> Result<user::Model, CliError> {
    users::find_by_email(db, t.id, email)
        .await?
        .ok_or_else(|| input(format!("no user {email} in organization {}", t.slug)))
}

/// The one account of `email` across organizations; refused when there is none, or more
/// than one (the operator then names the organization with `--tenant`).
async fn find_only_account(
    db: &sea_orm::DatabaseConnection,
    email: &str,
) -> Result<(tenant::Model, user::Model), CliError> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    let normalized = email.trim().to_lowercase();
    let users = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized))
        .all(db)
        .await?;
    let mut found = Vec::with_capacity(users.len());
    for u in users {
        if let Some(t) = tenant::Entity::find_by_id(u.tenant_id).one(db).await? {
            found.push((t, u));
        }
    }
    match found.len() {
        0 => Err(input(format!("no user {email} in any organization"))),
        1 => found
            .pop()
            .ok_or_else(|| input(format!("no user {email} in any organization"))),
        _ => {
            let mut slugs: Vec<String> = found.into_iter().map(|(t, _)| t.slug).collect();
            slugs.sort();
            Err(input(format!(
                "{email} has accounts in several organizations ({}): name one with --tenant",
                slugs.join(", ")
            )))
        }
    }
}

fn admin_error(e: AdminError) -> CliError {
    match e {
        AdminError::Db(e) => e.into(),
        AdminError::LastOwner => input(
            "refused: the organization must keep at least one active owner (make another owner first)",
        ),
        other => input(other.to_string()),
    }
}

/// Runs a user command.
///
/// # Errors
/// Bad input (unknown organization or user, refused password, last owner) or a failure.
pub async fn run(command: UserCommand, settings: &Settings, out: Out) -> Result<(), CliError> {
    let db = database(settings).await?;
    let ctx = cli_context();
    match command {
        UserCommand::Create {
            tenant,
            email,
            first_name,
            last_name,
            role,
        } => {
            let t = find_tenant(&db, &tenant).await?;
            let pw = read_password()?;
            let u = users::create_user(
                &db,
                t.id,
                &email,
                pw.expose_secret(),
                &first_name,
                &last_name,
                role,
            )
            .await
            .map_err(|e| match e {
                UserError::Db(e) => CliError::from(e),
                UserError::Hash(e) => CliError::Failed(e.into()),
                UserError::Password(p) => input(format!("password refused: {p}")),
                UserError::EmailTaken => {
                    input(format!("{email} already has an account in {}", t.slug))
                }
                other => input(other.to_string()),
            })?;
            audit::record(
                &db,
                AuditEvent::UserCreated,
                Some(t.id),
                Some(u.id),
                &ctx,
                Some(format!("role {}", u.role)),
            )
            .await?;
            out.emit(
                &format!(
                    "Created {} ({}) in {}, id {}",
                    u.email, u.role, t.slug, u.id
                ),
                &user_json(&u, &t),
            );
        }
        UserCommand::List { tenant } => {
            let t = find_tenant(&db, &tenant).await?;
            let (rows, _) = admin::list_users(&db, t.id, 0, u64::MAX >> 1).await?;
            let mut text = format!("{:<36} {:<8} {:<6} NAME", "EMAIL", "ROLE", "ACTIVE");
            for u in &rows {
                text.push_str(&format!(
                    "\n{:<36} {:<8} {:<6} {}",
                    u.email,
                    u.role,
                    if u.is_active { "yes" } else { "no" },
                    users::display_name(u)
                ));
            }
            if rows.is_empty() {
                text = format!("No users in {}.", t.slug);
            }
            let list: Vec<Value> = rows.iter().map(|u| user_json(u, &t)).collect();
            out.emit(&text, &Value::Array(list));
        }
        UserCommand::SetRole {
            tenant,
            email,
            role,
        } => {
            let change = UserChange {
                role: Some(role),
                is_active: None,
            };
            change_user(&db, &tenant, &email, change, out).await?;
        }
        UserCommand::Disable { tenant, email } => {
            let change = UserChange {
                role: None,
                is_active: Some(false),
            };
            change_user(&db, &tenant, &email, change, out).await?;
        }
        UserCommand::Enable { tenant, email } => {
            let change = UserChange {
                role: None,
                is_active: Some(true),
            };
            change_user(&db, &tenant, &email, change, out).await?;
        }
        UserCommand::SetPassword { tenant, email } => {
            let t = find_tenant(&db, &tenant).await?;
            let u = find_user(&db, &t, &email).await?;
            let pw = read_password()?;
            password::check_policy(pw.expose_secret(), &u.email)
                .map_err(|e| input(format!("password refused: {e}")))?;
            let hash = password::hash_unbounded(&pw)
                .await
                .map_err(|e| CliError::Failed(e.into()))?;
            let revoked =
                profile::set_password_hash(&db, u.clone(), hash, None, &ctx, "set by the operator")
                    .await?;
            out.emit(
                &format!(
                    "Password of {} in {} changed; {revoked} refresh tokens revoked.",
                    u.email, t.slug
                ),
                &json!({"email": u.email, "tenant_slug": t.slug, "revoked_refresh_tokens": revoked}),
            );
        }
        UserCommand::ResetMfa { email, tenant } => {
            let (t, u) = match tenant {
                Some(slug) => {
                    let t = find_tenant(&db, &slug).await?;
                    let u = find_user(&db, &t, &email).await?;
                    (t, u)
                }
                None => find_only_account(&db, &email).await?,
            };
            let r = mfa::reset(&db, &u, &ctx, "reset by the operator").await?;
            out.emit(
                &format!(
                    "Second factors of {} in {} removed: authenticator app {}, {} recovery codes, {} passkeys; {} refresh tokens revoked.",
                    u.email,
                    t.slug,
                    if r.totp { "removed" } else { "none" },
                    r.recovery_codes,
                    r.passkeys,
                    r.revoked_refresh_tokens
                ),
                &json!({
                    "email": u.email,
                    "tenant_slug": t.slug,
                    "totp_removed": r.totp,
                    "recovery_codes_removed": r.recovery_codes,
                    "passkeys_removed": r.passkeys,
                    "revoked_refresh_tokens": r.revoked_refresh_tokens,
                }),
            );
        }
        UserCommand::Unlock { tenant, email } => {
            let t = find_tenant(&db, &tenant).await?;
            let u = find_user(&db, &t, &email).await?;
            let cleared =
                throttle::clear_account(&db, &t, &u, &ctx, "unlocked by the operator").await?;
            out.emit(
                &format!("Sign-in limits of {} in {} cleared.", u.email, t.slug),
                &json!({"email": u.email, "tenant_slug": t.slug, "cleared_slots": cleared}),
            );
        }
    }
    Ok(())
}

async fn change_user(
    db: &sea_orm::DatabaseConnection,
    tenant: &str,
    email: &str,
    change: UserChange,
    out: Out,
) -> Result<(), CliError> {
    let t = find_tenant(db, tenant).await?;
    let u = find_user(db, &t, email).await?;
    let updated = admin::update_user(db, Actor::Operator, t.id, u.id, change, &cli_context())
        .await
        .map_err(admin_error)?;
    out.emit(
        &format!(
            "{} in {}: role {}, {}",
            updated.email,
            t.slug,
            updated.role,
            if updated.is_active {
                "active"
            } else {
                "disabled (sessions revoked)"
            }
        ),
        &user_json(&updated, &t),
    );
    Ok(())
}
