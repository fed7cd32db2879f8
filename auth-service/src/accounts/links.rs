//! Link tokens: the single-use secrets mailed as links (password reset, address
//! verification, address change, invitation). A token is 256 random bits, base64url;
//! only its SHA-256 is stored. It dies when used, when a newer one of the same kind is
//! issued for the same account (or, for invitations, the same tenant and address), or
//! after its lifetime. See CONTRACT.md "Account lifecycle".
//!
//! [`issue`] and [`consume`] take `&impl ConnectionTrait` so that they run inside the
//! caller's transaction: the change a link makes and the death of the link commit
//! together or not at all.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::infra::crypto;
use crate::infra::entities::link_token::{self, LinkKind};
use crate::infra::entities::user::UserRole;

/// Lifetime of a password-reset link.
pub const RESET_TTL: Duration = Duration::from_secs(30 * 60);
/// Lifetime of an address-verification (or address-change) link.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Lifetime of an invitation link.
pub const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

impl LinkKind {
    /// How long a link of this kind lives.
    #[must_use]
    pub fn ttl(self) -> Duration {
        match self {
            Self::PasswordReset => RESET_TTL,
            Self::VerifyEmail | Self::ChangeEmail => VERIFY_TTL,
            Self::Invitation => INVITATION_TTL,
        }
    }
}

/// What a new link is for.
#[derive(Debug, Clone)]
pub struct NewLink {
    /// The kind.
    pub kind: LinkKind,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The account (every kind but invitations).
    pub user_id: Option<Uuid>,
    /// Where the link is mailed, as typed.
    pub email: String,
    /// The invited role (invitations).
    pub role: Option<UserRole>,
    /// The inviter, when someone else issued it.
    pub created_by: Option<Uuid>,
}

/// A token that is unknown, used, replaced, expired or of another kind: one answer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Every reason a link does not work (the pages say the same for all).
    #[error("this link is not valid any more")]
    Invalid,
    /// A database failure.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

fn hash(token: &str) -> String {
    crypto::sha256_hex(token.as_bytes())
}

/// Issues a link: deletes the earlier links of the same kind for the same account (or,
/// for an invitation, the same tenant and address), stores the new one's hash and returns
/// the row and the token to put in the link (never stored, never logged).
///
/// # Errors
/// A database failure.
pub async fn issue(
    db: &impl ConnectionTrait,
    new: NewLink,
) -> Result<(link_token::Model, String), sea_orm::DbErr> {
    let email_normalized = new.email.trim().to_lowercase();
    let earlier = link_token::Entity::delete_many()
        .filter(link_token::Column::Kind.eq(new.kind))
        .filter(link_token::Column::TenantId.eq(new.tenant_id));
    match new.user_id {
        Some(user_id) => earlier.filter(link_token::Column::UserId.eq(user_id)),
        None => earlier.filter(link_token::Column::EmailNormalized.eq(email_normalized.clone())),
    }
    .exec(db)
    .await?;
    let token = crypto::random_token();
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(new.kind.ttl()).unwrap_or(chrono::Duration::MAX);
    let row = link_token::ActiveModel {
        id: Set(Uuid::new_v4()),
        kind: Set(new.kind),
        token_hash: Set(hash(&token)),
        tenant_id: Set(new.tenant_id),
        user_id: Set(new.user_id),
        email: Set(new.email.trim().to_owned()),
        email_normalized: Set(email_normalized),
        role: Set(new.role),
        created_by: Set(new.created_by),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((row, token))
}

/// The live link of `kind` for `token`, without using it (for showing the page a link
/// opens).
///
/// # Errors
/// [`LinkError::Invalid`] for an unknown, used, expired or other-kind token.
pub async fn peek(
    db: &impl ConnectionTrait,
    kind: LinkKind,
    token: &str,
) -> Result<link_token::Model, LinkError> {
    if token.is_empty() || token.len() > 128 {
        return Err(LinkError::Invalid);
    }
    link_token::Entity::find()
        .filter(link_token::Column::TokenHash.eq(hash(token)))
        .filter(link_token::Column::Kind.eq(kind))
        .filter(link_token::Column::UsedAt.is_null())
        .filter(link_token::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .ok_or(LinkError::Invalid)
}

/// Uses the link of `kind` for `token`: one conditional update marks it used only if it
/// is still live, so two concurrent uses cannot both succeed. Call it inside the
/// transaction that makes the link's change.
///
/// # Errors
/// [`LinkError::Invalid`] for an unknown, used, expired or other-kind token.
pub async fn consume(
    db: &impl ConnectionTrait,
    kind: LinkKind,
    token: &str,
) -> Result<link_token::Model, LinkError> {
    let row = peek(db, kind, token).await?;
    let now = Utc::now();
    let done = link_token::Entity::update_many()
        .col_expr(link_token::Column::UsedAt, Expr::value(now))
        .filter(link_token::Column::Id.eq(row.id))
        .filter(link_token::Column::UsedAt.is_null())
        .filter(link_token::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        Ok(link_token::Model {
            used_at: Some(now),
            ..row
        })
    } else {
        Err(LinkError::Invalid)
    }
}

/// Deletes every live link of `kind` of an account (e.g. reset links after a password
/// change).
///
/// # Errors
/// A database failure.
pub async fn revoke_for_user(
    db: &impl ConnectionTrait,
    kind: LinkKind,
    user_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    link_token::Entity::delete_many()
        .filter(link_token::Column::Kind.eq(kind))
        .filter(link_token::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map(|r| r.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_follow_the_contract() {
        assert_eq!(LinkKind::PasswordReset.ttl(), Duration::from_secs(1800));
        assert_eq!(LinkKind::VerifyEmail.ttl(), Duration::from_secs(86_400));
        assert_eq!(LinkKind::ChangeEmail.ttl(), Duration::from_secs(86_400));
        assert_eq!(LinkKind::Invitation.ttl(), Duration::from_secs(604_800));
    }

    #[test]
    fn the_stored_hash_is_not_the_token() {
        let t = crypto::random_token();
        assert_eq!(t.len(), 43, "256 bits in base64url");
        assert_ne!(hash(&t), t);
        assert_eq!(hash(&t).len(), 64);
    }
}
