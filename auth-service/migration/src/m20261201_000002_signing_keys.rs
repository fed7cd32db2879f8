//! `signing_keys`: the access-token signing keys every replica shares (issue 12).
//!
//! One row per key: its `kid` (RFC 7638 thumbprint), algorithm, public JWK, and the
//! PKCS#8 private key encrypted with XChaCha20-Poly1305 under `KEY_ENCRYPTION_KEY`
//! (`nonce || ciphertext`, the kid as associated data). Its life:
//! - `published_at`: in the JWKS from then on;
//! - `signs_from`: the newest key whose `signs_from` has passed signs new tokens;
//! - retirement is derived, not stored: a key retires when the next key (by `signs_from`,
//!   not revoked) starts signing, and stays published until its last token expired
//!   (retirement + `ACCESS_TOKEN_TTL` + the verifiers' leeway). Deriving it keeps a
//!   rotation one INSERT, and revoking a pending key gives its predecessor its life back;
//! - `revoked_at`: out of the JWKS and refused at once.
//!
//! `seq` is unique and one more than the newest key's: two replicas that rotate (or create
//! the first key) at the same moment both try the same `seq`, and exactly one insert wins.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Seq,
    Algorithm,
    PublicJwk,
    PrivateKey,
    Origin,
    CreatedAt,
    PublishedAt,
    SignsFrom,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tz = |col: SigningKeys| {
            ColumnDef::new(col)
                .timestamp_with_time_zone()
                .not_null()
                .take()
        };
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(
                        ColumnDef::new(SigningKeys::Kid)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SigningKeys::Seq)
                            .big_integer()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(SigningKeys::Algorithm)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SigningKeys::PublicJwk).text().not_null())
                    .col(ColumnDef::new(SigningKeys::PrivateKey).blob().not_null())
                    .col(
                        ColumnDef::new(SigningKeys::Origin)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(tz(SigningKeys::CreatedAt))
                    .col(tz(SigningKeys::PublishedAt))
                    .col(tz(SigningKeys::SignsFrom))
                    .col(
                        ColumnDef::new(SigningKeys::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKeys::Table).to_owned())
            .await
    }
}
