//! The initial schema: tenants, users, refresh tokens, the audit log and the
//! sign-in throttle (failures and locks), shared by every instance.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Slug,
    IsActive,
    Plan,
    MaxUsers,
    SignupPolicy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TenantId,
    Email,
    EmailNormalized,
    PasswordHash,
    FirstName,
    LastName,
    Role,
    IsActive,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    UserId,
    TenantId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    FamilyCreatedAt,
    FamilyExpiresAt,
    RotatedAt,
    SuccessorId,
    RevokedAt,
    UserAgent,
    Ip,
}

#[derive(DeriveIden)]
enum AuthEvents {
    Table,
    Id,
    Kind,
    TenantId,
    UserId,
    Ip,
    UserAgent,
    CreatedAt,
    Detail,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    ThrottleKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginLocks {
    Table,
    ThrottleKey,
    LockCount,
    LockedUntil,
    UpdatedAt,
}

fn tz(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

fn tz_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(ColumnDef::new(Tenants::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Tenants::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Tenants::Slug).string_len(63).not_null())
                    .col(ColumnDef::new(Tenants::IsActive).boolean().not_null())
                    .col(ColumnDef::new(Tenants::Plan).string_len(32).not_null())
                    .col(ColumnDef::new(Tenants::MaxUsers).integer().not_null())
                    .col(ColumnDef::new(Tenants::SignupPolicy).text().not_null())
                    .col(tz(Tenants::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_tenants_slug")
                    .table(Tenants::Table)
                    .col(Tenants::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Users::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Users::Email).string_len(254).not_null())
                    .col(
                        ColumnDef::new(Users::EmailNormalized)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::PasswordHash)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Users::FirstName).string_len(100).not_null())
                    .col(ColumnDef::new(Users::LastName).string_len(100).not_null())
                    .col(ColumnDef::new(Users::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Users::IsActive).boolean().not_null())
                    .col(tz(Users::CreatedAt))
                    .col(tz_null(Users::LastLoginAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_tenant")
                            .from(Users::Table, Users::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The same address may exist in another tenant as a separate account.
        manager
            .create_index(
                Index::create()
                    .name("ux_users_tenant_email")
                    .table(Users::Table)
                    .col(Users::TenantId)
                    .col(Users::EmailNormalized)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(
                        ColumnDef::new(RefreshTokens::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RefreshTokens::FamilyId).uuid().not_null())
                    .col(ColumnDef::new(RefreshTokens::UserId).uuid().not_null())
                    .col(ColumnDef::new(RefreshTokens::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(RefreshTokens::TokenHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(tz(RefreshTokens::CreatedAt))
                    .col(tz(RefreshTokens::ExpiresAt))
                    .col(tz(RefreshTokens::FamilyCreatedAt))
                    .col(tz(RefreshTokens::FamilyExpiresAt))
                    .col(tz_null(RefreshTokens::RotatedAt))
                    .col(ColumnDef::new(RefreshTokens::SuccessorId).uuid().null())
                    .col(tz_null(RefreshTokens::RevokedAt))
                    .col(
                        ColumnDef::new(RefreshTokens::UserAgent)
                            .string_len(256)
                            .null(),
                    )
                    .col(ColumnDef::new(RefreshTokens::Ip).string_len(64).null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_user")
                            .from(RefreshTokens::Table, RefreshTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_refresh_tokens_hash")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refresh_tokens_user")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuthEvents::Table)
                    .col(
                        ColumnDef::new(AuthEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuthEvents::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(AuthEvents::TenantId).uuid().null())
                    .col(ColumnDef::new(AuthEvents::UserId).uuid().null())
                    .col(ColumnDef::new(AuthEvents::Ip).string_len(64).null())
                    .col(ColumnDef::new(AuthEvents::UserAgent).string_len(256).null())
                    .col(tz(AuthEvents::CreatedAt))
                    .col(ColumnDef::new(AuthEvents::Detail).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_auth_events_created")
                    .table(AuthEvents::Table)
                    .col(AuthEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;

        create_login_throttle_tables(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LoginLocks::Table.into_iden(),
            LoginFailures::Table.into_iden(),
            AuthEvents::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Users::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The sign-in throttle tables of this schema (`login_failures`, `login_locks`): created
/// here, dropped by the throttle-slots migration and re-created by its `down`.
pub(crate) async fn create_login_throttle_tables(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(
                    ColumnDef::new(LoginFailures::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(LoginFailures::ThrottleKey)
                        .string_len(64)
                        .not_null(),
                )
                .col(tz(LoginFailures::CreatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_login_failures_key_time")
                .table(LoginFailures::Table)
                .col(LoginFailures::ThrottleKey)
                .col(LoginFailures::CreatedAt)
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(LoginLocks::Table)
                .col(
                    ColumnDef::new(LoginLocks::ThrottleKey)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(LoginLocks::LockCount).integer().not_null())
                .col(tz(LoginLocks::LockedUntil))
                .col(tz(LoginLocks::UpdatedAt))
                .to_owned(),
        )
        .await
}
