//! `passkey_challenges`: one WebAuthn ceremony in flight (registration, second factor or
//! passwordless sign-in): `webauthn-rs`'s serialized server-side state, bound to the
//! browser by a cookie whose token only has its SHA-256 here; 5 minutes, single use.

use sea_orm::entity::prelude::*;

/// A ceremony in flight.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkey_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub token_hash: String,
    /// `register`, `verify` (second factor) or `login` (passwordless).
    pub purpose: String,
    /// The user of a registration or second factor (none for passwordless).
    pub user_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    /// The serialized registration or authentication state (JSON).
    pub state: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
