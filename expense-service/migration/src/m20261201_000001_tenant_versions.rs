//! A version number per tenant, bumped by every committed write transaction of that tenant,
//! so that a list page served from memory can be checked against the database with one
//! indexed read (issue 13; `expense-service/src/list_cache.rs`).
//!
//! The table holds no tenant data: a tenant id and a counter. On PostgreSQL anyone the
//! service connects as may *read* every row (the check runs outside a tenant transaction,
//! where `app.tenant_id` is unset), but a row can only be inserted or changed for the tenant
//! of the current transaction, by the same setting as the other tables' policies.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TenantVersions {
    Table,
    TenantId,
    Version,
}

/// The tenant of the current transaction, as the other policies compare it.
const CURRENT_TENANT: &str = "NULLIF(current_setting('app.tenant_id', true), '')::uuid";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantVersions::Table)
                    .col(
                        ColumnDef::new(TenantVersions::TenantId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(TenantVersions::Version)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE tenant_versions ENABLE ROW LEVEL SECURITY; \
                     ALTER TABLE tenant_versions FORCE ROW LEVEL SECURITY; \
                     CREATE POLICY tenant_versions_read ON tenant_versions FOR SELECT USING (true); \
                     CREATE POLICY tenant_versions_insert ON tenant_versions FOR INSERT \
                       WITH CHECK (tenant_id = {CURRENT_TENANT}); \
                     CREATE POLICY tenant_versions_update ON tenant_versions FOR UPDATE \
                       USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantVersions::Table).to_owned())
            .await
    }
}
