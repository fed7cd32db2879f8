//! Users: the email newtype and the domain functions (create, find, activate) used by
//! the routes, the CLI, the demo seeding and tests. Adding a user to a tenant is one
//! transaction that first write-locks the tenant row, so `max_users` and the
//! per-tenant unique email hold under concurrency on SQLite and PostgreSQL alike.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait, Set, TransactionTrait,
};
use secrecy::SecretString;
use shared_jwt::Role;
use uuid::Uuid;

use crate::accounts::tenants::SignupPolicy;
use crate::infra::entities::{passkey, tenant, user, user_totp};
use crate::infra::password::{self, PasswordPolicyError};

/// A syntactically plausible email address, trimmed; compared case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    display: String,
    normalized: String,
}

impl Email {
    /// Parses an address: one `@`, a non-empty local part of at most 64 characters, a
    /// domain with a dot, no spaces or control characters, at most 254 characters.
    ///
    /// # Errors
    /// A message for the form field.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let display = raw.trim();
        let err = "Enter a valid email address.";
        if display.is_empty() || display.chars().count() > 254 {
            return Err(err);
        }
        if display.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        }) {
            return Err(err);
        }
        let (local, domain) = display.rsplit_once('@').ok_or(err)?;
        if local.is_empty()
            || local.chars().count() > 64
            || local.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(err);
        }
        Ok(Self {
            display: display.to_owned(),
            normalized: display.to_lowercase(),
        })
    }

    /// The address as typed (trimmed).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The lowercase form used for comparison and uniqueness.
    #[must_use]
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The email address is malformed.
    #[error("invalid email address")]
    Email,
    /// A name is empty or longer than 100 characters.
    #[error("first and last name must have 1 to 100 characters")]
    Name,
    /// The password breaks the policy.
    #[error("password refused: {0}")]
    Password(#[from] PasswordPolicyError),
    /// No such tenant, or it is inactive.
    #[error("no such active tenant")]
    NoTenant,
    /// The tenant's sign-up policy refuses this address.
    #[error("the tenant does not accept this sign-up")]
    NotAllowed,
    /// The tenant already has `max_users` users.
    #[error("the tenant is full")]
    TenantFull,
    /// The tenant already has a user with this email.
    #[error("the email is taken in this tenant")]
    EmailTaken,
    /// Hashing failed or was too busy.
    #[error(transparent)]
    Hash(#[from] password::HashError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// A validated new account, ready to insert.
#[derive(Debug)]
pub struct NewUser {
    /// Address.
    pub email: Email,
    /// PHC hash of the password.
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Role in the tenant.
    pub role: Role,
    /// The address is already proven (an accepted invitation; operator-created accounts).
    pub email_verified: bool,
}

/// Checks a name field: trimmed, 1–100 characters, no control characters.
///
/// # Errors
/// A message for the form field.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("This field is required.");
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("Use at most 100 characters.");
    }
    Ok(name.to_owned())
}

/// Creates an active user, checking the password policy and the tenant's `max_users`
/// (but not its sign-up policy: this is the administrative path).
///
/// # Errors
/// [`UserError`] for invalid input, a full tenant, a taken email, or a database failure.
pub async fn create_user(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    email: &str,
    password: &str,
    first_name: &str,
    last_name: &str,
    role: Role,
) -> Result<user::Model, UserError> {
    let email = Email::parse(email).map_err(|_| UserError::Email)?;
    let first_name = parse_name(first_name).map_err(|_| UserError::Name)?;
    let last_name = parse_name(last_name).map_err(|_| UserError::Name)?;
    password::check_policy(password, email.as_str())?;
    let password_hash = password::hash_unbounded(&SecretString::from(password)).await?;
    let new = NewUser {
        email,
        password_hash,
        first_name,
        last_name,
        role,
        // The operator vouches for the address.
        email_verified: true,
    };
    let txn = db.begin().await?;
    let created = insert_into_tenant(&txn, tenant_id, new, false).await?;
    txn.commit().await?;
    Ok(created)
}

/// Inserts `new` into the tenant inside the caller's transaction: write-locks the tenant
/// row first (a no-op update), then checks it is active, its sign-up policy when
/// `self_signup`, `max_users`, and relies on `ux_users_tenant_email` for the email.
///
/// # Errors
/// [`UserError::NoTenant`], [`UserError::NotAllowed`], [`UserError::TenantFull`],
/// [`UserError::EmailTaken`] or a database failure.
pub async fn insert_into_tenant(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    new: NewUser,
    self_signup: bool,
) -> Result<user::Model, UserError> {
    crate::accounts::tenants::lock(txn, tenant_id).await?;
    let tenant = tenant::Entity::find_by_id(tenant_id)
        .one(txn)
        .await?
        .ok_or(UserError::NoTenant)?;
    if !tenant.is_active {
        return Err(UserError::NoTenant);
    }
    if self_signup && !tenant.signup_policy.allows(new.email.normalized()) {
        return Err(UserError::NotAllowed);
    }
    // A typed address proves nothing: under a domain policy the account waits for the
    // verification link before it may sign in.
    let verification_required = self_signup
        && !new.email_verified
        && matches!(tenant.signup_policy, SignupPolicy::Domains(_));
    let count = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .count(txn)
        .await?;
    if count >= u64::try_from(tenant.max_users).unwrap_or(0) {
        return Err(UserError::TenantFull);
    }
    let model = user::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        email: Set(new.email.as_str().to_owned()),
        email_normalized: Set(new.email.normalized().to_owned()),
        password_hash: Set(new.password_hash),
        first_name: Set(new.first_name),
        last_name: Set(new.last_name),
        role: Set(new.role.into()),
        is_active: Set(true),
        email_verified: Set(new.email_verified),
        verification_required: Set(verification_required),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
    };
    model.insert(txn).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => UserError::EmailTaken,
        _ => UserError::Db(e),
    })
}

/// The user of a tenant with this address (compared case-insensitively).
///
/// # Errors
/// A database failure.
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    email: &str,
) -> Result<Option<user::Model>, sea_orm::DbErr> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::EmailNormalized.eq(email.trim().to_lowercase()))
        .one(db)
        .await
}

/// What a sign-in looks up before the password is checked.
#[derive(Debug, Default)]
pub struct SignInLookup {
    /// The tenant of the slug, active or not.
    pub tenant: Option<tenant::Model>,
    /// The account of the address in that tenant, active or not.
    pub user: Option<user::Model>,
    /// The account has a second factor (a confirmed authenticator app or a passkey), as
    /// [`crate::accounts::mfa::has_second_factor`] says.
    pub has_second_factor: bool,
}

/// The tenant of `slug` (already trimmed and lowercase, as [`tenants::find_by_slug`]
/// takes it), the account of `email` in it (compared as [`find_by_email`] does) and
/// whether that account has a second factor: ONE query (a left join, so an unknown
/// address still finds its tenant) instead of four.
///
/// [`tenants::find_by_slug`]: crate::accounts::tenants::find_by_slug
///
/// # Errors
/// A database failure.
pub async fn find_for_sign_in(
    db: &impl ConnectionTrait,
    slug: &str,
    email: &str,
) -> Result<SignInLookup, sea_orm::DbErr> {
    let user_id = || (user::Entity, user::Column::Id);
    let totp = Query::select()
        .expr(Expr::val(1))
        .from(user_totp::Entity)
        .and_where(Expr::col((user_totp::Entity, user_totp::Column::UserId)).equals(user_id()))
        .and_where(Expr::col((user_totp::Entity, user_totp::Column::EnabledAt)).is_not_null())
        .to_owned();
    let passkeys = Query::select()
        .expr(Expr::val(1))
        .from(passkey::Entity)
        .and_where(Expr::col((passkey::Entity, passkey::Column::UserId)).equals(user_id()))
        .to_owned();
    let second_factor = Expr::case(Expr::exists(totp).or(Expr::exists(passkeys)), 1).finally(0);
    let mut select = tenant::Entity::find()
        .select_also(user::Entity)
        .filter(tenant::Column::Slug.eq(slug))
        .expr_as(second_factor, SECOND_FACTOR);
    QueryTrait::query(&mut select).left_join(
        user::Entity,
        Expr::col((user::Entity, user::Column::TenantId))
            .equals((tenant::Entity, tenant::Column::Id))
            .and(
                Expr::col((user::Entity, user::Column::EmailNormalized))
                    .eq(email.trim().to_lowercase()),
            ),
    );
    let stmt = select.build(db.get_database_backend());
    let Some(row) = db.query_one_raw(stmt).await? else {
        return Ok(SignInLookup::default());
    };
    // The prefixes sea-orm's `select_also` gives the columns. No user is a NULL id; a row
    // that does not read (an unknown role) is an error, as in `find_by_email`.
    let user = match row.try_get::<Option<Uuid>>("B_", "id")? {
        Some(_) => Some(user::Model::from_query_result(&row, "B_")?),
        None => None,
    };
    Ok(SignInLookup {
        tenant: Some(tenant::Model::from_query_result(&row, "A_")?),
        has_second_factor: user.is_some() && row.try_get::<i32>("", SECOND_FACTOR)? == 1,
        user,
    })
}

/// The column of [`find_for_sign_in`]'s second-factor flag.
const SECOND_FACTOR: &str = "has_second_factor";

/// Activates or deactivates a user; a deactivated user can neither sign in nor refresh.
///
/// # Errors
/// A database failure.
pub async fn set_active(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    active: bool,
) -> Result<(), sea_orm::DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::IsActive, Expr::value(active))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// The user's display name.
#[must_use]
pub fn display_name(user: &user::Model) -> String {
    format!("{} {}", user.first_name, user.last_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_compared_in_lowercase() {
        let e = Email::parse("  Ada@Example.TEST ").unwrap();
        assert_eq!(e.as_str(), "Ada@Example.TEST");
        assert_eq!(e.normalized(), "ada@example.test");
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.test",
            "a b@x.test",
            "ada@localhost",
            "a@x..test",
            "a@.x.test",
            "a\u{0}@x.test",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert_eq!(parse_name("  Ada "), Ok("Ada".to_owned()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
    }
}
