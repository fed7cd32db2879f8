//! `user_totp`: a user's authenticator-app secret, encrypted with the key-encryption key
//! (the user id as associated data). `enabled_at` is set only after a correct code;
//! `last_step` is the last accepted 30-second step, so a code is accepted once.

use sea_orm::entity::prelude::*;

/// A user's TOTP secret.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_totp")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `nonce || ciphertext` of the raw secret.
    pub secret: Vec<u8>,
    pub enabled_at: Option<DateTimeUtc>,
    pub last_step: Option<i64>,
    pub created_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
