//! Passkeys (WebAuthn): one row per registered credential (`passkeys`: its owner and
//! tenant, the credential id — unique across the service, so one authenticator credential
//! can never belong to two accounts —, the serialized `webauthn-rs` passkey with its
//! public key and counter, a name the user chose, when it was added and last used) and
//! the ceremonies in flight (`passkey_challenges`: the serialized server-side state of one
//! registration or authentication, bound to the browser by a cookie whose token only has
//! its hash stored here; 5 minutes, single use).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    TenantId,
    CredentialId,
    Passkey,
    Name,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum PasskeyChallenges {
    Table,
    Id,
    TokenHash,
    Purpose,
    UserId,
    TenantId,
    State,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .col(ColumnDef::new(Passkeys::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Passkeys::UserId).uuid().not_null())
                    .col(ColumnDef::new(Passkeys::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(Passkeys::CredentialId)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Passkeys::Passkey).text().not_null())
                    .col(ColumnDef::new(Passkeys::Name).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Passkeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Passkeys::LastUsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_passkeys_user")
                            .from(Passkeys::Table, Passkeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_passkeys_credential")
                    .table(Passkeys::Table)
                    .col(Passkeys::CredentialId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_passkeys_user")
                    .table(Passkeys::Table)
                    .col(Passkeys::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PasskeyChallenges::Table)
                    .col(
                        ColumnDef::new(PasskeyChallenges::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PasskeyChallenges::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PasskeyChallenges::Purpose)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PasskeyChallenges::UserId).uuid().null())
                    .col(ColumnDef::new(PasskeyChallenges::TenantId).uuid().null())
                    .col(ColumnDef::new(PasskeyChallenges::State).text().not_null())
                    .col(
                        ColumnDef::new(PasskeyChallenges::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PasskeyChallenges::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PasskeyChallenges::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_passkey_challenges_token")
                    .table(PasskeyChallenges::Table)
                    .col(PasskeyChallenges::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            PasskeyChallenges::Table.into_iden(),
            Passkeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
