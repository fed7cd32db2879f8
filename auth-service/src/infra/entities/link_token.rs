//! `link_tokens`: the single-use tokens mailed as links — password reset, address
//! verification, address change and invitation. Only the SHA-256 of the token is stored
//! (`token_hash`, unique); a token dies when used (`used_at`), when a newer one of the
//! same kind is issued for the same account or address (the older row is deleted), or
//! at `expires_at`. See `accounts::links`.

use sea_orm::entity::prelude::*;

use super::user::UserRole;

/// A link token row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "link_tokens")]
pub struct Model {
    /// Also the invitation's id in the API (`invitations/{id}/`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: LinkKind,
    /// Lowercase hex SHA-256 of the token.
    pub token_hash: String,
    pub tenant_id: Uuid,
    /// The account (reset, verification, address change); `None` for an invitation.
    pub user_id: Option<Uuid>,
    /// The address the link was mailed to: the account's (reset, verification), the new
    /// one (address change), the invitee's (invitation), as typed.
    pub email: String,
    pub email_normalized: String,
    /// The invited role (invitations only).
    pub role: Option<UserRole>,
    /// Who issued it (the inviter); `None` when the account asked itself.
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

/// What a link token is for. A token of one kind is never accepted as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// `/password/reset?token=…` (30 minutes).
    #[sea_orm(string_value = "password_reset")]
    PasswordReset,
    /// `/verify-email?token=…` for the account's own address (24 hours).
    #[sea_orm(string_value = "verify_email")]
    VerifyEmail,
    /// `/verify-email?token=…` for a new address the account asked to change to (24 hours).
    #[sea_orm(string_value = "change_email")]
    ChangeEmail,
    /// `/invite/accept?token=…` (7 days).
    #[sea_orm(string_value = "invitation")]
    Invitation,
}

/// No navigable relations: queries join by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
