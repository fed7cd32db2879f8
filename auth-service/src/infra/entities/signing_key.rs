//! `signing_keys`: the access-token signing keys shared by every replica (see the
//! migration `m20261201_000002_signing_keys` and `infra::keys`). The private key is
//! stored encrypted (`nonce || XChaCha20-Poly1305 ciphertext` of the PKCS#8 DER, the kid
//! as associated data); retirement and expiry are derived from the next key's
//! `signs_from`.

use sea_orm::entity::prelude::*;

/// A signing key row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    /// RFC 7638 thumbprint of the public key (the JWT `kid`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// One more than the newest key's when inserted; unique, so concurrent rotations
    /// cannot both insert.
    pub seq: i64,
    /// `EdDSA` or `ES256`.
    pub algorithm: String,
    /// The public JWK (JSON text).
    pub public_jwk: String,
    /// The encrypted private key.
    pub private_key: Vec<u8>,
    /// How the key came: `generated` (first start), `rotation`, `automatic`, `revocation`
    /// (replaced a revoked signing key) or `file` (imported from `JWT_PRIVATE_KEY_FILE`).
    pub origin: String,
    pub created_at: DateTimeUtc,
    /// In the JWKS from then on.
    pub published_at: DateTimeUtc,
    /// May sign from then on (the newest such key signs).
    pub signs_from: DateTimeUtc,
    /// Out of the JWKS and refused from then on.
    pub revoked_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
