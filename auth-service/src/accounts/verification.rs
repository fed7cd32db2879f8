//! Address verification and address change by e-mail (CONTRACT.md "Account
//! lifecycle"), for the pages (`/verify-email`, `/verify-email/resend`, the account
//! page's change-email form) and the JSON API (`users/activation/`,
//! `users/resend_activation/`).
//!
//! - Every self sign-up queues a `{PUBLIC_URL}/verify-email?token=…` link (24 h) in the
//!   sign-up's own transaction ([`queue_verification`]).
//! - A resend ([`request_resend`]) answers like a reset request: spawned after the
//!   answer, only for an active, unverified account, at most
//!   [`PER_ACCOUNT_PER_HOUR`](crate::accounts::recovery::PER_ACCOUNT_PER_HOUR) per hour (counted from `verification_sent` audit rows).
//! - A change of address ([`request_email_change`], current password re-checked under
//!   the sign-in throttle) mails a `ChangeEmail` link to the NEW address; nothing
//!   changes until it is used.
//! - One URL serves both kinds of link ([`verify`]): a `VerifyEmail` token marks the
//!   address verified; a `ChangeEmail` token moves the account to the new (now
//!   verified) address and tells the old address.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use crate::accounts::links::{self, LinkError};
use crate::accounts::recovery::{
    LinkMail, active_account, capped_txn, commit_and_send, lock_user, queue_link_mail,
    spawn_after_answer,
};
use crate::accounts::signin::{self, PasswordCheck};
use crate::accounts::throttle::Throttled;
use crate::accounts::users::{self, Email};
use crate::error::AppError;
use crate::infra::audit::{self, AuditEvent, EventContext};
use crate::infra::entities::link_token::{self, LinkKind};
use crate::infra::entities::{tenant, user};
use crate::mail::{self, Mail};
use crate::state::AppState;

/// The body of the verification mail.
#[derive(askama::Template)]
#[template(path = "mail/verify_email.txt")]
struct VerifyMail<'a> {
    name: &'a str,
    organization: &'a str,
    link: &'a str,
}

/// The body of the mail to a new address.
#[derive(askama::Template)]
#[template(path = "mail/change_email.txt")]
struct ChangeMail<'a> {
    name: &'a str,
    organization: &'a str,
    link: &'a str,
}

/// The notice to the old address.
#[derive(askama::Template)]
#[template(path = "mail/email_changed.txt")]
struct ChangedNotice<'a> {
    name: &'a str,
    organization: &'a str,
    new_email: &'a str,
}

fn render(to: &str, subject: &str, body: &impl askama::Template) -> Result<Mail, AppError> {
    Mail::from_template(to, subject, body).map_err(|e| AppError::Internal(e.into()))
}

/// Issues a verification link for `user`'s address and queues its mail, audited
/// (`verification_sent`), inside the caller's transaction; call
/// [`crate::mail::Mailer::wake`] after the commit.
///
/// # Errors
/// A database or template failure.
pub async fn queue_verification(
    txn: &impl ConnectionTrait,
    state: &AppState,
    tenant: &tenant::Model,
    user: &user::Model,
    ctx: &EventContext,
) -> Result<(), AppError> {
    let m = LinkMail {
        kind: LinkKind::VerifyEmail,
        tenant,
        user,
        to: &user.email,
        path: "/verify-email",
        event: AuditEvent::VerificationSent,
    };
    queue_link_mail(txn, state, m, ctx, |link| {
        let body = VerifyMail {
            name: &user.first_name,
            organization: &tenant.name,
            link,
        };
        Mail::from_template(&user.email, "Confirm your address", &body)
    })
    .await
}

/// Runs [`request_resend`] after the answer: spawned, its failures logged, never seen.
pub fn spawn_resend(state: &AppState, slug: String, email: String, ctx: EventContext) {
    let state = state.clone();
    spawn_after_answer("verification resend", async move {
        request_resend(&state, &slug, &email, &ctx).await
    });
}

/// Mails a new verification link to an active account whose address is not verified
/// yet (within the per-account cap); does nothing otherwise. Returns whether a mail was
/// queued (never shown).
///
/// # Errors
/// A database or template failure.
pub async fn request_resend(
    state: &AppState,
    slug: &str,
    email: &str,
    ctx: &EventContext,
) -> Result<bool, AppError> {
    let Some((tenant, user)) = active_account(&state.db, slug, email).await? else {
        return Ok(false);
    };
    if user.email_verified {
        return Ok(false);
    }
    let Some(txn) = capped_txn(state, user.id, AuditEvent::VerificationSent).await? else {
        return Ok(false);
    };
    queue_verification(&txn, state, &tenant, &user, ctx).await?;
    commit_and_send(state, txn).await?;
    Ok(true)
}

/// What using a `/verify-email` link gave.
#[derive(Debug)]
pub enum Verification {
    /// The account's address is now verified.
    Verified(Box<user::Model>),
    /// The account moved to the new (verified) address; the old one was told.
    Changed(Box<user::Model>),
    /// The link does not work (one answer for every reason); nothing changed.
    InvalidLink,
    /// The new address belongs to another account of the organization by now;
    /// nothing changed.
    AddressTaken,
}

/// Uses a verification or address-change link (see the module docs).
///
/// # Errors
/// A database or template failure.
pub async fn verify(
    state: &AppState,
    token: &str,
    ctx: &EventContext,
) -> Result<Verification, AppError> {
    match links::peek(&state.db, LinkKind::VerifyEmail, token).await {
        Ok(row) => return verify_address(state, row, token, ctx).await,
        Err(LinkError::Db(e)) => return Err(e.into()),
        Err(LinkError::Invalid) => {}
    }
    match links::peek(&state.db, LinkKind::ChangeEmail, token).await {
        Ok(row) => change_address(state, row, token, ctx).await,
        Err(LinkError::Db(e)) => Err(e.into()),
        Err(LinkError::Invalid) => Ok(Verification::InvalidLink),
    }
}

/// Consumes `token` of `kind` under the account's lock and returns the live account it
/// belongs to, or `None` (the caller answers "invalid link").
async fn take(
    txn: &impl ConnectionTrait,
    kind: LinkKind,
    row: &link_token::Model,
    token: &str,
) -> Result<Option<(tenant::Model, user::Model)>, AppError> {
    let Some(user_id) = row.user_id else {
        return Ok(None);
    };
    lock_user(txn, user_id).await?;
    match links::consume(txn, kind, token).await {
        Ok(_) => {}
        Err(LinkError::Invalid) => return Ok(None),
        Err(LinkError::Db(e)) => return Err(e.into()),
    }
    let Some(user) = user::Entity::find_by_id(user_id).one(txn).await? else {
        return Ok(None);
    };
    let Some(tenant) = tenant::Entity::find_by_id(user.tenant_id).one(txn).await? else {
        return Ok(None);
    };
    Ok(
        (user.is_active && tenant.is_active && tenant.id == row.tenant_id)
            .then_some((tenant, user)),
    )
}

async fn verify_address(
    state: &AppState,
    row: link_token::Model,
    token: &str,
    ctx: &EventContext,
) -> Result<Verification, AppError> {
    let txn = state.db.begin().await?;
    let Some((tenant, user)) = take(&txn, LinkKind::VerifyEmail, &row, token).await? else {
        return Ok(Verification::InvalidLink);
    };
    // A link to an address the account no longer has proves nothing about it.
    if user.email_normalized != row.email_normalized {
        return Ok(Verification::InvalidLink);
    }
    set_verified(&txn, user.id).await?;
    audit::record(
        &txn,
        AuditEvent::EmailVerified,
        Some(tenant.id),
        Some(user.id),
        ctx,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(Verification::Verified(Box::new(user::Model {
        email_verified: true,
        ..user
    })))
}

async fn set_verified(db: &impl ConnectionTrait, user_id: Uuid) -> Result<(), sea_orm::DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await
        .map(|_| ())
}

async fn change_address(
    state: &AppState,
    row: link_token::Model,
    token: &str,
    ctx: &EventContext,
) -> Result<Verification, AppError> {
    let txn = state.db.begin().await?;
    let Some((tenant, user)) = take(&txn, LinkKind::ChangeEmail, &row, token).await? else {
        return Ok(Verification::InvalidLink);
    };
    if users::find_by_email(&txn, tenant.id, &row.email_normalized)
        .await?
        .is_some_and(|other| other.id != user.id)
    {
        return Ok(Verification::AddressTaken);
    }
    let updated = user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(row.email.clone()))
        .col_expr(
            user::Column::EmailNormalized,
            Expr::value(row.email_normalized.clone()),
        )
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await;
    if let Err(e) = updated {
        return match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Ok(Verification::AddressTaken),
            _ => Err(e.into()),
        };
    }
    // Links mailed to the old address no longer prove anything.
    links::revoke_for_user(&txn, LinkKind::VerifyEmail, user.id).await?;
    links::revoke_for_user(&txn, LinkKind::PasswordReset, user.id).await?;
    let notice = ChangedNotice {
        name: &user.first_name,
        organization: &tenant.name,
        new_email: &row.email,
    };
    mail::enqueue(
        &txn,
        &render(&user.email, "Your sign-in address was changed", &notice)?,
    )
    .await?;
    audit::record(
        &txn,
        AuditEvent::EmailChanged,
        Some(tenant.id),
        Some(user.id),
        ctx,
        None,
    )
    .await?;
    txn.commit().await?;
    state.mailer.wake();
    Ok(Verification::Changed(Box::new(user::Model {
        email: row.email,
        email_normalized: row.email_normalized,
        email_verified: true,
        ..user
    })))
}

/// A change-email field with a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailField {
    /// The current password is wrong.
    Password,
    /// The new address is invalid, the same, or taken.
    Email,
}

/// What asking for a new address gave.
#[derive(Debug)]
pub enum EmailChange {
    /// A link went to the new address; nothing changed yet.
    Requested,
    /// Refused, with each field's message; nothing changed.
    Refused(Vec<(EmailField, String)>),
    /// Too many wrong passwords: refused without checking.
    Throttled(Throttled),
}

/// The answer to the right password of an account that must verify its address first.
pub const CONFIRM_FIRST: &str = "Please confirm your address first: open the link we sent you by e-mail. \
We can send a new link if it has expired or did not arrive.";

/// The message beyond the per-account cap of address-change mails.
pub const TOO_MANY_CHANGES: &str =
    "You asked for several address changes in the last hour. Please try again later.";

/// The message for an address already used by another account of the organization.
pub const ADDRESS_TAKEN: &str =
    "Another account of your organization already uses this address. Nothing was changed.";

/// Asks to move `user` to `new_email`: re-checks the current password (counted like a
/// sign-in), checks the address, then mails a `ChangeEmail` link to it.
///
/// # Errors
/// A database or template failure, or hashing busy/failed.
pub async fn request_email_change(
    state: &AppState,
    tenant: &tenant::Model,
    user: &user::Model,
    current_password: &str,
    new_email: &str,
    ip: std::net::IpAddr,
    ctx: &EventContext,
) -> Result<EmailChange, AppError> {
    let mut problems = Vec::new();
    let email = match Email::parse(new_email) {
        Ok(e) if e.normalized() == user.email_normalized => {
            problems.push((
                EmailField::Email,
                "This is already your address.".to_owned(),
            ));
            None
        }
        Ok(e) => Some(e),
        Err(m) => {
            problems.push((EmailField::Email, m.to_owned()));
            None
        }
    };
    if current_password.is_empty() {
        problems.push((EmailField::Password, "This field is required.".to_owned()));
    } else {
        match signin::check_password(state, user, tenant, current_password, ip, ctx).await? {
            PasswordCheck::Ok => {}
            PasswordCheck::Wrong => {
                problems.push((EmailField::Password, "Invalid password.".to_owned()));
            }
            PasswordCheck::Throttled(t) => return Ok(EmailChange::Throttled(t)),
        }
    }
    let Some(email) = email.filter(|_| problems.is_empty()) else {
        return Ok(EmailChange::Refused(problems));
    };
    // No mail bombing through address changes either: the same per-account cap as the
    // other link mails (the account is signed in and its password checked: saying so is safe).
    let event = AuditEvent::EmailChangeRequested;
    let Some(txn) = capped_txn(state, user.id, event).await? else {
        return Ok(EmailChange::Refused(vec![(
            EmailField::Email,
            TOO_MANY_CHANGES.to_owned(),
        )]));
    };
    if users::find_by_email(&txn, tenant.id, email.normalized())
        .await?
        .is_some()
    {
        return Ok(EmailChange::Refused(vec![(
            EmailField::Email,
            ADDRESS_TAKEN.to_owned(),
        )]));
    }
    let m = LinkMail {
        kind: LinkKind::ChangeEmail,
        tenant,
        user,
        to: email.as_str(),
        path: "/verify-email",
        event,
    };
    queue_link_mail(&txn, state, m, ctx, |link| {
        let body = ChangeMail {
            name: &user.first_name,
            organization: &tenant.name,
            link,
        };
        Mail::from_template(email.as_str(), "Confirm your new address", &body)
    })
    .await?;
    commit_and_send(state, txn).await?;
    Ok(EmailChange::Requested)
}
