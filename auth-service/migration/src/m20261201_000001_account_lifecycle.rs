//! The account lifecycle by e-mail: verified addresses on `users`, the link tokens of
//! password reset, address verification, address change and invitations
//! (`link_tokens`), and the durable queue of outgoing mail (`mail_outbox`).
//!
//! Accounts that exist before this migration keep signing in: `verification_required`
//! is set only for accounts created under a `domains:` sign-up policy from now on.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    EmailVerified,
    VerificationRequired,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LinkTokens {
    Table,
    Id,
    Kind,
    TokenHash,
    TenantId,
    UserId,
    Email,
    EmailNormalized,
    Role,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    BodyText,
    BodyHtml,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    SentAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for col in [Users::EmailVerified, Users::VerificationRequired] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(ColumnDef::new(col).boolean().not_null().default(false))
                        .to_owned(),
                )
                .await?;
        }
        let tz = |col: LinkTokens| {
            ColumnDef::new(col)
                .timestamp_with_time_zone()
                .not_null()
                .take()
        };
        manager
            .create_table(
                Table::create()
                    .table(LinkTokens::Table)
                    .col(
                        ColumnDef::new(LinkTokens::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LinkTokens::Kind).string_len(24).not_null())
                    .col(
                        ColumnDef::new(LinkTokens::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(LinkTokens::TenantId).uuid().not_null())
                    .col(ColumnDef::new(LinkTokens::UserId).uuid().null())
                    .col(ColumnDef::new(LinkTokens::Email).string_len(254).not_null())
                    .col(
                        ColumnDef::new(LinkTokens::EmailNormalized)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(LinkTokens::Role).string_len(16).null())
                    .col(ColumnDef::new(LinkTokens::CreatedBy).uuid().null())
                    .col(tz(LinkTokens::CreatedAt))
                    .col(tz(LinkTokens::ExpiresAt))
                    .col(
                        ColumnDef::new(LinkTokens::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_link_tokens_tenant")
                            .from(LinkTokens::Table, LinkTokens::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_link_tokens_user")
                            .from(LinkTokens::Table, LinkTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_link_tokens_hash")
                    .table(LinkTokens::Table)
                    .col(LinkTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_link_tokens_tenant_kind_email")
                    .table(LinkTokens::Table)
                    .col(LinkTokens::TenantId)
                    .col(LinkTokens::Kind)
                    .col(LinkTokens::EmailNormalized)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_link_tokens_user_kind")
                    .table(LinkTokens::Table)
                    .col(LinkTokens::UserId)
                    .col(LinkTokens::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(
                        ColumnDef::new(MailOutbox::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::Recipient)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::Subject)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(MailOutbox::BodyText).text().not_null())
                    .col(ColumnDef::new(MailOutbox::BodyHtml).text().null())
                    .col(
                        ColumnDef::new(MailOutbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::SentAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(MailOutbox::LastError).string_len(500).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_mail_outbox_due")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::SentAt)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailOutbox::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LinkTokens::Table).to_owned())
            .await?;
        for col in [Users::EmailVerified, Users::VerificationRequired] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
