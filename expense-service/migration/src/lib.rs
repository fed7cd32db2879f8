//! Schema migrations of expense-service (its own database, never auth-service's).
//!
//! Run at start-up by the service (as the table owner, `MIGRATION_DATABASE_URL`) and by its
//! `migrate` subcommand. One migration per file, named `mYYYYMMDD_HHMMSS_description.rs`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_departments;
mod m20261123_000002_create_expenses;
mod m20261123_000003_row_level_security;
mod m20261130_000001_expense_totals;
mod m20261201_000001_tenant_versions;

/// The ordered list of migrations.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_departments::Migration),
            Box::new(m20261123_000002_create_expenses::Migration),
            Box::new(m20261123_000003_row_level_security::Migration),
            Box::new(m20261130_000001_expense_totals::Migration),
            Box::new(m20261201_000001_tenant_versions::Migration),
        ]
    }
}

/// The tenant-owned tables: each has a `tenant_id` column and, on PostgreSQL, a row-level
/// security policy. Exposed so the service can grant its runtime role access to exactly these.
pub const TENANT_TABLES: &[&str] = &["departments", "expenses", "expense_totals"];

/// Each tenant's version number (bumped by every committed write of the tenant): readable
/// outside a tenant transaction, writable only for the transaction's tenant. The runtime role
/// gets `SELECT, INSERT, UPDATE` on it.
pub const TENANT_VERSIONS: &str = "tenant_versions";
