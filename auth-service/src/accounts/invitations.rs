//! Invitations, for both front ends (`/members` and `/invite/accept`, the JSON
//! `invitations/` endpoints): an owner or admin invites an address with a role, the
//! invitee gets a link (`{PUBLIC_URL}/invite/accept?token=…`, 7 days) and, opening it,
//! creates their account in the inviting tenant with a verified address.
//!
//! Rules:
//! - only `admin` and up invite or revoke, never above their own role
//!   ([`admin::may_grant`], the rule role changes use too), read under the tenant's lock
//!   so a concurrent demotion counts;
//! - an address that already has an account in the tenant is refused
//!   ([`InviteError::AlreadyMember`]), nothing sent;
//! - re-inviting an address replaces its earlier link ([`links::issue`]);
//! - accepting creates the user with the invited role and `email_verified`, and uses the
//!   link in the same transaction: a full tenant or a taken address leaves nothing
//!   created and the link still usable.

use askama::Template;
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use secrecy::SecretString;
use shared_jwt::Role;
use uuid::Uuid;

use crate::accounts::admin::{self, NO_PERMISSION};
use crate::accounts::links::{self, LinkError, NewLink};
use crate::accounts::users::{self, Email, NewUser, UserError};
use crate::infra::audit::{AuditEvent, EventContext, record};
use crate::infra::entities::link_token::{self, LinkKind};
use crate::infra::entities::{tenant, user};
use crate::infra::password::{self, HashError};
use crate::mail::{self, Mail};
use crate::state::AppState;

/// The message for an address that already has an account in the tenant.
pub const ALREADY_MEMBER: &str =
    "This address already has an account in this organization; nothing was sent.";
/// The message for a bad, used, expired or replaced invitation link.
pub const LINK_INVALID: &str = "This invitation link is not valid any more: it may have been \
used, replaced by a newer invitation, revoked, or have expired. Please ask the person who \
invited you for a new link.";
/// The message when the tenant has no room left.
pub const TENANT_FULL: &str = "This organization has reached its user limit, so no account \
was created. Please ask the person who invited you to make room; your link still works.";
/// The message when the address got an account meanwhile.
pub const EMAIL_TAKEN: &str = "An account with this address already exists in this \
organization. Please sign in instead.";

/// The invitation mail body (`templates/mail/invitation.txt`).
#[derive(Template, Debug)]
#[template(path = "mail/invitation.txt")]
pub struct InvitationMail<'a> {
    /// Who invites.
    pub inviter: &'a str,
    /// The organization's name.
    pub tenant_name: &'a str,
    /// The invited role.
    pub role: &'a str,
    /// The absolute link.
    pub link: &'a str,
    /// How long it works, in days.
    pub days: u64,
}

/// A pending invitation as the members page and the API show it.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The invitation (link) id.
    pub id: Uuid,
    /// The invited address, as typed.
    pub email: String,
    /// The invited role.
    pub role: Role,
    /// The inviter's id.
    pub invited_by: Option<Uuid>,
    /// The inviter's name, while they exist.
    pub invited_by_name: Option<String>,
    /// When it was sent.
    pub created_at: chrono::DateTime<Utc>,
    /// When the link dies.
    pub expires_at: chrono::DateTime<Utc>,
}

/// Why an invitation (or its revocation) was refused.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// The caller's role does not allow this (`403`).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The address already has an account in the tenant.
    #[error("already a member")]
    AlreadyMember,
    /// No such pending invitation in the caller's tenant (`404`).
    #[error("not found")]
    NotFound,
    /// The mail template failed.
    #[error("mail template: {0}")]
    Template(#[from] askama::Error),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// The caller's role as of now, inside the transaction (after the tenant's lock):
/// `None` when they are gone, deactivated or moved.
async fn current_role(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Role>, sea_orm::DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::IsActive.eq(true))
        .one(txn)
        .await?
        .map(|u| u.claim_role()))
}

/// The pending (unused, unexpired) invitations of a tenant, oldest first.
///
/// # Errors
/// A database failure.
pub async fn list_pending(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<Vec<Pending>, sea_orm::DbErr> {
    let rows = link_token::Entity::find()
        .filter(link_token::Column::Kind.eq(LinkKind::Invitation))
        .filter(link_token::Column::TenantId.eq(tenant_id))
        .filter(link_token::Column::UsedAt.is_null())
        .filter(link_token::Column::ExpiresAt.gt(Utc::now()))
        .order_by_asc(link_token::Column::CreatedAt)
        .order_by_asc(link_token::Column::Id)
        .all(db)
        .await?;
    let inviters: Vec<Uuid> = rows.iter().filter_map(|r| r.created_by).collect();
    let names: Vec<(Uuid, String)> = if inviters.is_empty() {
        Vec::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(inviters))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, users::display_name(&u)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|r| Pending {
            invited_by_name: r
                .created_by
                .and_then(|id| names.iter().find(|(n, _)| *n == id).map(|(_, s)| s.clone())),
            id: r.id,
            email: r.email,
            role: r.role.map_or(Role::Member, Role::from),
            invited_by: r.created_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
        .collect())
}

/// Invites `email` into `inviter`'s tenant with `role`: issues the link (replacing an
/// earlier one to the same address), queues the mail and audits, in one transaction;
/// wakes the mailer after the commit.
///
/// # Errors
/// [`InviteError`].
pub async fn invite(
    state: &AppState,
    inviter: &user::Model,
    tenant: &tenant::Model,
    email: &Email,
    role: Role,
    ctx: &EventContext,
) -> Result<Pending, InviteError> {
    let txn = state.db.begin().await?;
    crate::accounts::tenants::lock(&txn, tenant.id).await?;
    let Some(own) = current_role(&txn, tenant.id, inviter.id).await? else {
        return Err(InviteError::Forbidden(NO_PERMISSION));
    };
    if !admin::may_grant(own, role) {
        return Err(InviteError::Forbidden(admin::grant_refused(own)));
    }
    if users::find_by_email(&txn, tenant.id, email.normalized())
        .await?
        .is_some()
    {
        return Err(InviteError::AlreadyMember);
    }
    let (row, token) = links::issue(
        &txn,
        NewLink {
            kind: LinkKind::Invitation,
            tenant_id: tenant.id,
            user_id: None,
            email: email.as_str().to_owned(),
            role: Some(role.into()),
            created_by: Some(inviter.id),
        },
    )
    .await?;
    let link = format!(
        "{}/invite/accept?token={token}",
        state.settings.public_url.as_str().trim_end_matches('/')
    );
    let inviter_name = users::display_name(inviter);
    let body = InvitationMail {
        inviter: &inviter_name,
        tenant_name: &tenant.name,
        role: role.as_str(),
        link: &link,
        days: LinkKind::Invitation.ttl().as_secs() / 86_400,
    };
    let subject = format!("{inviter_name} invites you to {}", tenant.name);
    mail::enqueue(&txn, &Mail::from_template(email.as_str(), subject, &body)?).await?;
    record(
        &txn,
        AuditEvent::InvitationSent,
        Some(tenant.id),
        Some(inviter.id),
        ctx,
        Some(format!("invitation {} as {}", row.id, role.as_str())),
    )
    .await?;
    txn.commit().await?;
    state.mailer.wake();
    Ok(Pending {
        id: row.id,
        email: row.email,
        role,
        invited_by: Some(inviter.id),
        invited_by_name: Some(inviter_name),
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

/// Revokes a pending invitation of `actor`'s tenant (its link stops working).
///
/// # Errors
/// [`InviteError::NotFound`] (unknown, used, or another tenant's),
/// [`InviteError::Forbidden`] (below admin, or an invitation above the caller's role).
pub async fn revoke(
    state: &AppState,
    actor: &user::Model,
    id: Uuid,
    ctx: &EventContext,
) -> Result<(), InviteError> {
    let tenant_id = actor.tenant_id;
    let txn = state.db.begin().await?;
    crate::accounts::tenants::lock(&txn, tenant_id).await?;
    let Some(own) = current_role(&txn, tenant_id, actor.id).await? else {
        return Err(InviteError::Forbidden(NO_PERMISSION));
    };
    if !own.at_least(Role::Admin) {
        return Err(InviteError::Forbidden(NO_PERMISSION));
    }
    let row = link_token::Entity::find_by_id(id)
        .filter(link_token::Column::Kind.eq(LinkKind::Invitation))
        .filter(link_token::Column::TenantId.eq(tenant_id))
        .filter(link_token::Column::UsedAt.is_null())
        .one(&txn)
        .await?
        .ok_or(InviteError::NotFound)?;
    let role = row.role.map_or(Role::Member, Role::from);
    if !admin::may_grant(own, role) {
        return Err(InviteError::Forbidden(
            "Only an owner can revoke an owner's invitation.",
        ));
    }
    link_token::Entity::delete_by_id(row.id).exec(&txn).await?;
    record(
        &txn,
        AuditEvent::InvitationRevoked,
        Some(tenant_id),
        Some(actor.id),
        ctx,
        Some(format!("invitation {}", row.id)),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A live invitation and its tenant, for the page the link opens.
///
/// # Errors
/// [`LinkError::Invalid`] for a bad, used, expired or other-kind token, or an inactive
/// tenant.
pub async fn open(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<(link_token::Model, tenant::Model), LinkError> {
    let link = links::peek(db, LinkKind::Invitation, token).await?;
    let tenant = tenant::Entity::find_by_id(link.tenant_id)
        .one(db)
        .await?
        .filter(|t| t.is_active)
        .ok_or(LinkError::Invalid)?;
    Ok((link, tenant))
}

/// The accept form's fields, as typed.
#[derive(Debug, Clone, Copy)]
pub struct AcceptFields<'a> {
    /// The link's token.
    pub token: &'a str,
    /// Given name.
    pub first_name: &'a str,
    /// Family name.
    pub last_name: &'a str,
    /// New password.
    pub password: &'a str,
}

/// A field of the accept form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptField {
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// Password.
    Password,
}

/// Why accepting failed.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The link does not work ([`LINK_INVALID`]).
    #[error("invalid link")]
    Invalid,
    /// Field problems (nothing done).
    #[error("invalid fields")]
    Fields(Vec<(AcceptField, String)>),
    /// The tenant is full ([`TENANT_FULL`]); the link still works.
    #[error("tenant full")]
    TenantFull,
    /// The address has an account there meanwhile ([`EMAIL_TAKEN`]).
    #[error("email taken")]
    EmailTaken,
    /// Hashing failed or was busy.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<LinkError> for AcceptError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Invalid => Self::Invalid,
            LinkError::Db(e) => Self::Db(e),
        }
    }
}

/// Checks the accept form's names and password (against the invited address): the
/// trimmed names, or every problem.
///
/// # Errors
/// Each field's message.
pub fn check_fields(
    fields: AcceptFields<'_>,
    email: &str,
) -> Result<(String, String), Vec<(AcceptField, String)>> {
    let mut problems = Vec::new();
    let first_name = users::parse_name(fields.first_name)
        .map_err(|m| problems.push((AcceptField::FirstName, m.to_owned())))
        .ok();
    let last_name = users::parse_name(fields.last_name)
        .map_err(|m| problems.push((AcceptField::LastName, m.to_owned())))
        .ok();
    if let Err(e) = password::check_policy(fields.password, email) {
        problems.push((AcceptField::Password, e.to_string()));
    }
    match (first_name, last_name) {
        (Some(f), Some(l)) if problems.is_empty() => Ok((f, l)),
        _ => Err(problems),
    }
}

/// Accepts an invitation: checks the fields, creates the user (invited role, verified
/// address) and uses the link in one transaction, audits, and returns the new user and
/// their tenant (for signing in).
///
/// # Errors
/// [`AcceptError`].
pub async fn accept(
    state: &AppState,
    fields: AcceptFields<'_>,
    ctx: &EventContext,
) -> Result<(user::Model, tenant::Model), AcceptError> {
    let (link, tenant) = open(&state.db, fields.token).await?;
    let (first_name, last_name) = check_fields(fields, &link.email).map_err(AcceptError::Fields)?;
    // The stored address was parsed when invited; parsing again cannot fail.
    let email = Email::parse(&link.email).map_err(|_| AcceptError::Invalid)?;
    let password_hash = state
        .hasher
        .hash(&SecretString::from(fields.password.to_owned()))
        .await?;
    let role = link.role.map_or(Role::Member, Role::from);
    let txn = state.db.begin().await?;
    // Write first (the tenant's lock), then read: see tenants::find_by_slug_locked.
    crate::accounts::tenants::lock(&txn, tenant.id).await?;
    let used = links::consume(&txn, LinkKind::Invitation, fields.token).await?;
    let new = NewUser {
        email,
        password_hash,
        first_name,
        last_name,
        role,
        email_verified: true,
    };
    let created = match users::insert_into_tenant(&txn, tenant.id, new, false).await {
        Ok(u) => u,
        Err(UserError::TenantFull) => return Err(AcceptError::TenantFull),
        Err(UserError::EmailTaken) => return Err(AcceptError::EmailTaken),
        Err(UserError::NoTenant) => return Err(AcceptError::Invalid),
        Err(UserError::Db(e)) => return Err(AcceptError::Db(e)),
        Err(UserError::Hash(e)) => return Err(AcceptError::Hash(e)),
        Err(other) => {
            return Err(AcceptError::Db(sea_orm::DbErr::Custom(other.to_string())));
        }
    };
    let by = used
        .created_by
        .map_or_else(String::new, |id| format!(", invited by {id}"));
    record(
        &txn,
        AuditEvent::InvitationAccepted,
        Some(tenant.id),
        Some(created.id),
        ctx,
        Some(format!("invitation {} as {}{by}", used.id, role.as_str())),
    )
    .await?;
    txn.commit().await?;
    Ok((created, tenant))
}
