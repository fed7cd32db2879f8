//! `passkeys`: a user's registered WebAuthn credential. `passkey` is `webauthn-rs`'s
//! serialized `Passkey` (credential id, public key, counter — no secret); the credential
//! id (base64url) is unique across the service.

use sea_orm::entity::prelude::*;

/// A registered passkey.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The serialized `webauthn_rs::prelude::Passkey` (JSON).
    pub passkey: String,
    /// The user's name for it.
    pub name: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
