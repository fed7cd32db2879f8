//! Self-service sign-up for both front ends (`POST /register`, `POST
//! /api/v1/auth/users/`): the fields' rules ([`SignupFields::parse`]) and the sign-up
//! itself ([`sign_up`]): join an existing organization as `member` (its sign-up policy
//! and `max_users` permitting) or create a new one as its `owner`.
//!
//! Enumeration: every refusal to join — unknown, inactive, invite-only, domain not
//! allowed, full, or the address already registered there — is one [`SignUp::Refused`]
//! (shown as [`JOIN_REFUSED`]), after the same work (the password is always hashed
//! first). Every new account is mailed an address-verification link, queued in the
//! sign-up's transaction. A new organization's slug is derived from its name, with a
//! random suffix when that is taken or reserved, so creating never reveals another
//! tenant.

use sea_orm::{DatabaseTransaction, TransactionTrait};
use secrecy::SecretString;
use shared_jwt::Role;

use crate::accounts::tenants::{self, SignupPolicy, TenantError, TenantSlug};
use crate::accounts::users::{self, Email, NewUser, UserError};
use crate::accounts::verification;
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::entities::{tenant, user};
use crate::infra::password;
use crate::state::AppState;

/// The one message for every refused join.
pub const JOIN_REFUSED: &str = "We could not add you to this organization. It may not exist, may not accept \
sign-ups from your address, or may be full — or you may already have an account there, in which case please \
sign in. Ask the organization's administrator for an invitation if in doubt.";

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
    /// Password (checked by [`crate::infra::password::check_policy`]).
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

/// Which organization the sign-up names, as typed (the front end decides which field
/// was meant, and reports a missing or double choice in its own words).
#[derive(Debug, Clone, Copy)]
pub enum TargetField<'a> {
    /// The slug of an organization to join (trimmed and lowercased here).
    Join(&'a str),
    /// The name of an organization to create.
    Create(&'a str),
}

/// The sign-up fields as typed; `None` = missing, already reported by the front end.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignupFields<'a> {
    /// Given name.
    pub first_name: Option<&'a str>,
    /// Family name.
    pub last_name: Option<&'a str>,
    /// Email address.
    pub email: Option<&'a str>,
    /// Password.
    pub password: Option<&'a str>,
    /// Join or create.
    pub target: Option<TargetField<'a>>,
}

/// A sign-up field with a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupField {
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// Email address.
    Email,
    /// Password.
    Password,
    /// The organization to join.
    Join,
    /// The organization to create.
    Create,
}

impl SignupFields<'_> {
    /// Checks every field, collecting every problem.
    ///
    /// # Errors
    /// Each field's message, when any field is wrong or missing.
    pub fn parse(self) -> Result<ValidSignup, Vec<(SignupField, String)>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let first_name = self
            .first_name
            .and_then(|v| note(e, SignupField::FirstName, users::parse_name(v)));
        let last_name = self
            .last_name
            .and_then(|v| note(e, SignupField::LastName, users::parse_name(v)));
        let email = self
            .email
            .and_then(|v| note(e, SignupField::Email, Email::parse(v)));
        let password = self.password.and_then(|p| {
            let policy = password::check_policy(p, self.email.unwrap_or("").trim());
            note(e, SignupField::Password, policy).map(|()| SecretString::from(p.to_owned()))
        });
        let target = self.target.and_then(|t| match t {
            TargetField::Join(slug) => note(
                e,
                SignupField::Join,
                TenantSlug::parse_typed(slug).map(SignupTarget::Join),
            ),
            TargetField::Create(name) => note(
                e,
                SignupField::Create,
                parse_organization_name(name).map(SignupTarget::Create),
            ),
        });
        match (first_name, last_name, email, password, target) {
            (Some(first_name), Some(last_name), Some(email), Some(password), Some(target))
                if errors.is_empty() =>
            {
                Ok(ValidSignup {
                    first_name,
                    last_name,
                    email,
                    password,
                    target,
                })
            }
            _ => Err(errors),
        }
    }
}

/// `r`'s value, or its message noted against `field`.
fn note<T, E: ToString>(
    errors: &mut Vec<(SignupField, String)>,
    field: SignupField,
    r: Result<T, E>,
) -> Option<T> {
    r.map_err(|e| errors.push((field, e.to_string()))).ok()
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
        email_verified: false,
    };
    let txn = state.db.begin().await?;
    let outcome = match &input.target {
        SignupTarget::Create(name) => {
            let tenant = create_tenant_with_free_slug(&txn, name).await?;
            users::insert_into_tenant(&txn, tenant.id, new, false)
                .await
                .map(|u| (u, tenant))
        }
        SignupTarget::Join(slug) => {
            match tenants::find_by_slug_locked(&txn, slug.as_str()).await? {
                None => Err(UserError::NoTenant),
                Some(tenant) => users::insert_into_tenant(&txn, tenant.id, new, true)
                    .await
                    .map(|u| (u, tenant)),
            }
        }
    };
    match outcome {
        Ok((user, tenant)) => {
            audit::record(
                &txn,
                AuditEvent::Signup,
                Some(tenant.id),
                Some(user.id),
                ctx,
                Some(format!("role {}", user.role)),
            )
            .await?;
            // Every self sign-up gets a verification link, committed with the account.
            verification::queue_verification(&txn, state, &tenant, &user, ctx).await?;
            txn.commit().await?;
            state.mailer.wake();
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
                AuditEvent::SignupRefused,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once_and_missing_fields_are_skipped() {
        let fields = SignupFields {
            first_name: Some(" "),
            last_name: None,
            email: Some("not-an-address"),
            password: Some("password"),
            target: Some(TargetField::Join("A!")),
        };
        let problems = fields.parse().unwrap_err();
        let named: Vec<SignupField> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            named,
            [
                SignupField::FirstName,
                SignupField::Email,
                SignupField::Password,
                SignupField::Join
            ]
        );
        assert_eq!(problems[0].1, "This field is required.");
    }

    #[test]
    fn valid_fields_are_normalized() {
        let valid = SignupFields {
            first_name: Some(" Ada "),
            last_name: Some("Lovelace"),
            email: Some(" Ada@Acme.test "),
            password: Some("correct horse battery staple"),
            target: Some(TargetField::Join(" Acme ")),
        }
        .parse()
        .unwrap();
        assert_eq!(valid.first_name, "Ada");
        assert_eq!(valid.email.normalized(), "ada@acme.test");
        assert!(matches!(valid.target, SignupTarget::Join(ref s) if s.as_str() == "acme"));
        // The password may not be the address (compared trimmed, in lowercase).
        let refused = SignupFields {
            password: Some("ada@acme.test"),
            ..SignupFields {
                first_name: Some("Ada"),
                last_name: Some("L"),
                email: Some(" Ada@Acme.test "),
                password: None,
                target: Some(TargetField::Create("Acme")),
            }
        }
        .parse()
        .unwrap_err();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].0, SignupField::Password);
    }
}
