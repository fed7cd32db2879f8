//! Database migrations of auth-service (`auth-migration`).
//!
//! Run at start-up by `Application::build` and by `auth-service migrate`. The same
//! migrations run on SQLite (the embedded default) and PostgreSQL, so they use only
//! portable column types: UUIDs, strings, booleans, integers and UTC timestamps.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261130_000001_throttle_slots;
mod m20261130_000002_refresh_families;
mod m20261201_000001_account_lifecycle;
mod m20261201_000002_signing_keys;
mod m20261202_000001_second_factor;
mod m20261203_000001_passkeys;

/// The ordered list of auth-service migrations.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261130_000001_throttle_slots::Migration),
            Box::new(m20261130_000002_refresh_families::Migration),
            Box::new(m20261201_000001_account_lifecycle::Migration),
            Box::new(m20261201_000002_signing_keys::Migration),
            Box::new(m20261202_000001_second_factor::Migration),
            Box::new(m20261203_000001_passkeys::Migration),
        ]
    }
}
