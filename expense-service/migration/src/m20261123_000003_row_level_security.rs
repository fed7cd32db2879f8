//! PostgreSQL row-level security on every tenant table: the second, independent isolation
//! layer behind the tenant-scoped repository.
//!
//! Each request's transaction runs `SELECT set_config('app.tenant_id', $1, true)` (a
//! transaction-local setting); the policy compares `tenant_id` with it. With no tenant set
//! (`current_setting(.., true)` is NULL, or '' once the setting has existed in the session)
//! no row is visible and no row can be written. `FORCE` makes the policy apply to the table
//! owner too; superusers and `BYPASSRLS` roles still bypass it, which is why the service
//! connects as a separate, non-owner role. SQLite has no RLS: this migration is a no-op there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The tenant tables that exist at this point (later tables get their policy in their own
/// migration, e.g. `expense_totals`).
const TENANT_TABLES: &[&str] = &["departments", "expenses"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for table in TENANT_TABLES {
            // NULLIF: an unset custom setting reads as '' after a previous transaction set it.
            let sql = format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; \
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY; \
                 CREATE POLICY {table}_tenant_isolation ON {table} \
                   USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) \
                   WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);"
            );
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for table in TENANT_TABLES {
            let sql = format!(
                "DROP POLICY IF EXISTS {table}_tenant_isolation ON {table}; \
                 ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY; \
                 ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"
            );
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
