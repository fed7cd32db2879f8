//! `refresh_families`: one row per sign-in, the lock and the revocation mark that
//! rotation and revocation serialize on (see `accounts::sessions`). Existing families
//! are backfilled from `refresh_tokens`; a family with any revoked token is revoked
//! whole (a successor inserted after its family was revoked is revoked with it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshFamilies {
    Table,
    Id,
    UserId,
    TenantId,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// One family per (family, user, tenant) of the token rows, revoked when any row is.
const BACKFILL: &str = "INSERT INTO refresh_families \
     (id, user_id, tenant_id, created_at, expires_at, last_used_at, revoked_at) \
     SELECT family_id, user_id, tenant_id, MIN(family_created_at), MAX(family_expires_at), \
     MAX(created_at), MAX(revoked_at) FROM refresh_tokens \
     GROUP BY family_id, user_id, tenant_id";

/// Every token of a revoked family is revoked.
const HEAL: &str = "UPDATE refresh_tokens SET revoked_at = \
     (SELECT f.revoked_at FROM refresh_families f WHERE f.id = refresh_tokens.family_id) \
     WHERE revoked_at IS NULL AND family_id IN \
     (SELECT id FROM refresh_families WHERE revoked_at IS NOT NULL)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tz = |col: RefreshFamilies| {
            ColumnDef::new(col)
                .timestamp_with_time_zone()
                .not_null()
                .take()
        };
        manager
            .create_table(
                Table::create()
                    .table(RefreshFamilies::Table)
                    .col(
                        ColumnDef::new(RefreshFamilies::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RefreshFamilies::UserId).uuid().not_null())
                    .col(ColumnDef::new(RefreshFamilies::TenantId).uuid().not_null())
                    .col(tz(RefreshFamilies::CreatedAt))
                    .col(tz(RefreshFamilies::ExpiresAt))
                    .col(tz(RefreshFamilies::LastUsedAt))
                    .col(
                        ColumnDef::new(RefreshFamilies::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_families_user")
                            .from(RefreshFamilies::Table, RefreshFamilies::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_refresh_families_user", RefreshFamilies::UserId),
            ("ix_refresh_families_tenant", RefreshFamilies::TenantId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(RefreshFamilies::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL).await?;
        db.execute_unprepared(HEAL).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(RefreshFamilies::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
