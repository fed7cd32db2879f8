//! Self-service sign-up as a domain function, for every front end (`POST
//! /api/v1/auth/users/` calls it; `POST /register` could too): join an existing
//! organization as `member` (its sign-up policy and `max_users` permitting) or create a
//! new one as its `owner`.
//!
//! Enumeration: every refusal to join — unknown, inactive, invite-only, domain not
//! allowed, full, or the address already registered there — is one [`SignUp::Refused`],
//! after the same work (the password is always hashed first). A new organization's slug
//! is derived from its name, with a random suffix when that is taken or reserved.

use sea_orm::{DatabaseTransaction, TransactionTrait};
use secrecy::SecretString;
use shared_jwt::Role;

use crate::audit::{self, EventContext, EventKind};
use crate::entities::{tenant, user};
use crate::error::AppError;
use crate::state::AppState;
use crate::tenants::{self, SignupPolicy, TenantError, TenantSlug};
use crate::users::{self, Email, NewUser, UserError};

/// Users a new organization may have (as for `POST /register`).
pub const NEW_TENANT_MAX_USERS: i32 = 50;

/// Join or create.
#[derive(Debug, Clone)]
pub enum SignupTarget {
    /// Join the organization with this slug as `member`.
    Join(TenantSlug),
    /// Create an organization with this name and become its `owner`.
    Create(String),
}

/// A sign-up whose fields are valid.
#[derive(Debug)]
pub struct ValidSignup {
    /// Given name (checked by [`users::parse_name`]).
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Address.
    pub email: Email,
    /// Password (checked by [`crate::password::check_policy`]).
    pub password: SecretString,
    /// Where to.
    pub target: SignupTarget,
}

/// What a sign-up gave.
#[derive(Debug)]
pub enum SignUp {
    /// The new account and its organization.
    Created {
        /// The account.
        user: Box<user::Model>,
        /// Its organization.
        tenant: Box<tenant::Model>,
    },
    /// Joining was refused (one answer for every reason).
    Refused,
}

/// Checks a new organization's name: 1–200 characters, no control characters.
///
/// # Errors
/// A message for the field.
pub fn parse_organization_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("This field may not be blank.");
    }
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err("Use at most 200 characters.");
    }
    Ok(name.to_owned())
}

/// Creates the account (and organization) in one transaction and audits the outcome.
///
/// # Errors
/// A database failure, or hashing busy/failed.
pub async fn sign_up(
    state: &AppState,
    input: ValidSignup,
    ctx: &EventContext,
) -> Result<SignUp, AppError> {
    // Always hash before deciding, so every outcome costs the same.
    let password_hash = state.hasher.hash(&input.password).await?;
    let role = match &input.target {
        SignupTarget::Join(_) => Role::Member,
        SignupTarget::Create(_) => Role::Owner,
    };
    let new = NewUser {
        email: input.email,
        password_hash,
        first_name: input.first_name,
        last_name: input.last_name,
        role,
    };
    let txn = state.db.begin().await?;
    let outcome = match &input.target {
        SignupTarget::Create(name) => {
            let tenant = create_tenant_with_free_slug(&txn, name).await?;
            users::insert_into_tenant(&txn, tenant.id, new, false)
                .await
                .map(|u| (u, tenant))
        }
        SignupTarget::Join(slug) => match tenants::find_by_slug(&txn, slug.as_str()).await? {
            None => Err(UserError::NoTenant),
            Some(tenant) => users::insert_into_tenant(&txn, tenant.id, new, true)
                .await
                .map(|u| (u, tenant)),
        },
    };
    match outcome {
        Ok((user, tenant)) => {
            audit::record(
                &txn,
                EventKind::Signup,
                Some(tenant.id),
                Some(user.id),
                ctx,
                Some(format!("role {}", user.role)),
            )
            .await?;
            txn.commit().await?;
            Ok(SignUp::Created {
                user: Box::new(user),
                tenant: Box::new(tenant),
            })
        }
        Err(
            e @ (UserError::NoTenant
            | UserError::NotAllowed
            | UserError::TenantFull
            | UserError::EmailTaken),
        ) => {
            drop(txn);
            audit::record(
                &state.db,
                EventKind::SignupRefused,
                None,
                None,
                ctx,
                Some(e.to_string()),
            )
            .await?;
            Ok(SignUp::Refused)
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates an invite-only tenant named `name` with its derived slug, or that slug with a
/// random suffix when it is taken, reserved or underivable. Each try runs in a savepoint
/// so a unique violation does not abort the caller's transaction (PostgreSQL).
///
/// # Errors
/// A database failure, or no free slug after 8 tries.
pub async fn create_tenant_with_free_slug(
    txn: &DatabaseTransaction,
    name: &str,
) -> Result<tenant::Model, AppError> {
    let candidate = TenantSlug::candidate_from_name(name);
    for attempt in 0..8 {
        let slug = match TenantSlug::parse(&candidate) {
            Ok(slug) if attempt == 0 => slug,
            _ => TenantSlug::with_random_suffix(&candidate),
        };
        let savepoint = txn.begin().await?;
        match tenants::create_tenant(
            &savepoint,
            name,
            slug.as_str(),
            SignupPolicy::InviteOnly,
            NEW_TENANT_MAX_USERS,
        )
        .await
        {
            Ok(t) => {
                savepoint.commit().await?;
                return Ok(t);
            }
            Err(TenantError::SlugTaken | TenantError::Slug(_)) => {
                savepoint.rollback().await?;
            }
            Err(TenantError::Db(e)) => return Err(e.into()),
            Err(e) => return Err(AppError::Internal(anyhow::anyhow!(e.to_string()))),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no free organization slug after 8 tries"
    )))
}
