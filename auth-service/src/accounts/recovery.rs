//! Password reset by e-mail (CONTRACT.md "Account lifecycle"), for the pages
//! (`/password/forgot`, `/password/reset`) and the JSON API (`users/reset_password/`,
//! `users/reset_password_confirm/`).
//!
//! Asking ([`request_reset`]) never tells whether the account exists: the front ends
//! answer first and run the request in a spawned task ([`spawn_request`]), so the
//! answer and its timing are the same for every input. Only an active account of an
//! active organization gets a mail, and at most [`PER_ACCOUNT_PER_HOUR`] of them per
//! hour, counted from the audit log (`password_reset_requested` rows of the account),
//! inside a transaction that starts by write-locking the account's row so concurrent
//! requests cannot both pass the count.
//!
//! Using a link ([`reset_password`]) sets the password (policy as at sign-up), marks the
//! address verified (the link reached it), ends **every** session of the user, clears
//! the password-guessing counts — one transaction; the page then signs the user in.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::accounts::links::{self, LinkError, NewLink};
use crate::accounts::sessions;
use crate::accounts::tenants::{self, TenantSlug};
use crate::accounts::throttle;
use crate::accounts::users::{self, Email};
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::entities::link_token::LinkKind;
use crate::infra::entities::{auth_event, tenant, user};
use crate::infra::password;
use crate::mail::{self, Mail};
use crate::state::AppState;

/// At most this many reset mails (and, separately, verification mails) per account per
/// hour; beyond it the request is answered the same and nothing is sent.
pub const PER_ACCOUNT_PER_HOUR: u64 = 3;

const HOUR: Duration = Duration::from_secs(3600);

/// The body of the reset mail (`templates/mail/password_reset.txt`).
#[derive(askama::Template)]
#[template(path = "mail/password_reset.txt")]
struct ResetMail<'a> {
    name: &'a str,
    organization: &'a str,
    link: &'a str,
    minutes: u64,
}

/// `{PUBLIC_URL}{path}?token={token}` (the token is base64url: nothing to escape).
#[must_use]
pub fn link_url(state: &AppState, path: &str, token: &str) -> String {
    let base = state.settings.public_url.as_str().trim_end_matches('/');
    format!("{base}{path}?token={token}")
}

/// The active account of an active organization with this slug and address, as typed;
/// `None` for anything else (invalid or overlong input included).
///
/// # Errors
/// A database failure.
pub async fn active_account(
    db: &impl ConnectionTrait,
    slug: &str,
    email: &str,
) -> Result<Option<(tenant::Model, user::Model)>, sea_orm::DbErr> {
    let (Ok(slug), Ok(email)) = (TenantSlug::parse_typed(slug), Email::parse(email)) else {
        return Ok(None);
    };
    let Some(tenant) = tenants::find_by_slug(db, slug.as_str()).await? else {
        return Ok(None);
    };
    if !tenant.is_active {
        return Ok(None);
    }
    Ok(users::find_by_email(db, tenant.id, email.normalized())
        .await?
        .filter(|u| u.is_active)
        .map(|u| (tenant, u)))
}

/// Write-locks the user's row inside the caller's transaction (a no-op update): the
/// first statement of every transaction here, so that per-account counts hold under
/// concurrency and SQLite never has to upgrade a read snapshot to a write.
///
/// # Errors
/// A database failure.
pub async fn lock_user(db: &impl ConnectionTrait, user_id: Uuid) -> Result<(), sea_orm::DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::col(user::Column::Role))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// How many `kind` events the account has in the last hour (the per-account mail cap).
///
/// # Errors
/// A database failure.
pub async fn events_last_hour(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    kind: AuditEvent,
) -> Result<u64, sea_orm::DbErr> {
    let since = Utc::now() - chrono::Duration::from_std(HOUR).unwrap_or(chrono::Duration::zero());
    auth_event::Entity::find()
        .filter(auth_event::Column::UserId.eq(user_id))
        .filter(auth_event::Column::Kind.eq(kind))
        .filter(auth_event::Column::CreatedAt.gt(since))
        .count(db)
        .await
}

/// Runs `request` after the answer: spawned, its failures logged as `what`, never seen
/// (the front ends answer every "mail me a link" request the same, at the same speed).
pub fn spawn_after_answer(
    what: &'static str,
    request: impl Future<Output = Result<bool, AppError>> + Send + 'static,
) {
    tokio::spawn(async move {
        if let Err(e) = request.await {
            tracing::error!(error = %e, "{what} failed");
        }
    });
}

/// Runs `request_reset` after the answer: spawned, its failures logged, never seen.
pub fn spawn_request(state: &AppState, slug: String, email: String, ctx: EventContext) {
    let state = state.clone();
    spawn_after_answer("password-reset request", async move {
        request_reset(&state, &slug, &email, &ctx).await
    });
}

/// A transaction that starts by write-locking the account's row ([`lock_user`]), or
/// `None` when the account already had [`PER_ACCOUNT_PER_HOUR`] `event`s in the last hour
/// (the per-account cap of every mailed link).
///
/// # Errors
/// A database failure.
pub async fn capped_txn(
    state: &AppState,
    user_id: Uuid,
    event: AuditEvent,
) -> Result<Option<DatabaseTransaction>, AppError> {
    let txn = state.db.begin().await?;
    lock_user(&txn, user_id).await?;
    if events_last_hour(&txn, user_id, event).await? >= PER_ACCOUNT_PER_HOUR {
        tracing::info!(%user_id, ?event, "per-account mail cap reached: nothing sent");
        return Ok(None);
    }
    Ok(Some(txn))
}

/// A mailed link: which kind, for which account and address, the page it opens and the
/// audit event that records (and caps) it.
pub struct LinkMail<'a> {
    /// What the link does.
    pub kind: LinkKind,
    /// The account's organization.
    pub tenant: &'a tenant::Model,
    /// The account.
    pub user: &'a user::Model,
    /// The address the link goes to (the account's, or the new one of an address change).
    pub to: &'a str,
    /// The page the link opens (`/password/reset`, `/verify-email`).
    pub path: &'static str,
    /// Recorded with the mail; [`capped_txn`] counts it.
    pub event: AuditEvent,
}

/// Issues `m`'s link (older ones of its kind die), queues the mail `body` renders around
/// the link's URL, and records `m.event`, all inside `txn`; call [`commit_and_send`] after.
///
/// # Errors
/// A database or template failure.
pub async fn queue_link_mail(
    txn: &impl ConnectionTrait,
    state: &AppState,
    m: LinkMail<'_>,
    ctx: &EventContext,
    body: impl FnOnce(&str) -> Result<Mail, askama::Error>,
) -> Result<(), AppError> {
    let (_, token) = links::issue(
        txn,
        NewLink {
            kind: m.kind,
            tenant_id: m.tenant.id,
            user_id: Some(m.user.id),
            email: m.to.to_owned(),
            role: None,
            created_by: None,
        },
    )
    .await?;
    let mail = body(&link_url(state, m.path, &token)).map_err(|e| AppError::Internal(e.into()))?;
    mail::enqueue(txn, &mail).await?;
    audit::record(txn, m.event, Some(m.tenant.id), Some(m.user.id), ctx, None).await?;
    Ok(())
}

/// Commits the mail's transaction and wakes the delivery worker.
///
/// # Errors
/// A database failure.
pub async fn commit_and_send(state: &AppState, txn: DatabaseTransaction) -> Result<(), AppError> {
    txn.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Mails a reset link to an active account (within the per-account cap); does nothing
/// otherwise. Returns whether a mail was queued (for tests and logs only — never shown).
///
/// # Errors
/// A database or template failure.
pub async fn request_reset(
    state: &AppState,
    slug: &str,
    email: &str,
    ctx: &EventContext,
) -> Result<bool, AppError> {
    let Some((tenant, user)) = active_account(&state.db, slug, email).await? else {
        return Ok(false);
    };
    let event = AuditEvent::PasswordResetRequested;
    let Some(txn) = capped_txn(state, user.id, event).await? else {
        return Ok(false);
    };
    let m = LinkMail {
        kind: LinkKind::PasswordReset,
        tenant: &tenant,
        user: &user,
        to: &user.email,
        path: "/password/reset",
        event,
    };
    queue_link_mail(&txn, state, m, ctx, |link| {
        let body = ResetMail {
            name: &user.first_name,
            organization: &tenant.name,
            link,
            minutes: links::RESET_TTL.as_secs() / 60,
        };
        Mail::from_template(&user.email, "Reset your password", &body)
    })
    .await?;
    commit_and_send(state, txn).await?;
    Ok(true)
}

/// The account a live reset link belongs to (for showing the reset page).
///
/// # Errors
/// [`LinkError::Invalid`] for an unknown, used, expired or other-kind token, or when the
/// account or its organization is no longer active.
pub async fn check_link(
    state: &AppState,
    token: &str,
) -> Result<(tenant::Model, user::Model), LinkError> {
    let row = links::peek(&state.db, LinkKind::PasswordReset, token).await?;
    account_of(&state.db, row.user_id).await
}

async fn account_of(
    db: &impl ConnectionTrait,
    user_id: Option<Uuid>,
) -> Result<(tenant::Model, user::Model), LinkError> {
    let Some(user_id) = user_id else {
        return Err(LinkError::Invalid);
    };
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(LinkError::Invalid)?;
    let tenant = tenant::Entity::find_by_id(user.tenant_id)
        .one(db)
        .await?
        .ok_or(LinkError::Invalid)?;
    if user.is_active && tenant.is_active {
        Ok((tenant, user))
    } else {
        Err(LinkError::Invalid)
    }
}

/// What using a reset link gave.
#[derive(Debug)]
pub enum Reset {
    /// The password changed and every session ended; the front end may start a new
    /// one for this account (the pages do; the JSON API does not).
    Done {
        /// The account, as stored now.
        user: Box<user::Model>,
        /// Its organization.
        tenant: Box<tenant::Model>,
    },
    /// The link does not work (one answer for every reason); nothing changed.
    InvalidLink,
    /// The new password breaks the policy (the message); nothing changed.
    WeakPassword(String),
}

/// Uses a reset link: see the module docs.
///
/// # Errors
/// A database failure, or hashing busy/failed.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
    ctx: &EventContext,
) -> Result<Reset, AppError> {
    let (tenant, user) = match check_link(state, token).await {
        Ok(found) => found,
        Err(LinkError::Invalid) => return Ok(Reset::InvalidLink),
        Err(LinkError::Db(e)) => return Err(e.into()),
    };
    if let Err(e) = password::check_policy(new_password, &user.email) {
        return Ok(Reset::WeakPassword(e.to_string()));
    }
    let hash = state
        .hasher
        .hash(&SecretString::from(new_password.to_owned()))
        .await?;
    let txn = state.db.begin().await?;
    lock_user(&txn, user.id).await?;
    match links::consume(&txn, LinkKind::PasswordReset, token).await {
        Ok(row) if row.user_id == Some(user.id) => {}
        Ok(_) | Err(LinkError::Invalid) => return Ok(Reset::InvalidLink),
        Err(LinkError::Db(e)) => return Err(e.into()),
    }
    // Re-read under the lock: deactivated meanwhile means the link no longer works.
    let (tenant, user) = match account_of(&txn, Some(user.id)).await {
        Ok(found) if found.0.id == tenant.id => found,
        Ok(_) | Err(LinkError::Invalid) => return Ok(Reset::InvalidLink),
        Err(LinkError::Db(e)) => return Err(e.into()),
    };
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash.clone()))
        // The link reached this address: it is proven.
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let revoked = sessions::revoke_all_for_user(&txn, user.id).await?;
    throttle::clear_account(&txn, &tenant, &user, ctx, "password reset").await?;
    links::revoke_for_user(&txn, LinkKind::PasswordReset, user.id).await?;
    audit::record(
        &txn,
        AuditEvent::PasswordResetCompleted,
        Some(tenant.id),
        Some(user.id),
        ctx,
        Some(format!("{revoked} refresh tokens revoked")),
    )
    .await?;
    txn.commit().await?;
    let user = user::Model {
        password_hash: hash,
        email_verified: true,
        ..user
    };
    Ok(Reset::Done {
        user: Box::new(user),
        tenant: Box::new(tenant),
    })
}
