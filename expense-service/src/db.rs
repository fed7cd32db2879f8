//! Database connection, migrations and tenant transactions.
//!
//! Every request's queries run in a transaction opened by [`Db::read`] or [`Db::write`] for a
//! [`TenantScope`]. On PostgreSQL that transaction first runs
//! `SELECT set_config('app.tenant_id', $1, true)` (the `SET LOCAL` equivalent, with the id bound
//! as a parameter), so the row-level-security policies confine even a query that forgot its
//! `WHERE tenant_id = …`. The setting dies with the transaction: it can't leak through the pool.
//!
//! A write transaction also bumps the tenant's row in `tenant_versions` when it commits (same
//! transaction), so [`Db::tenant_version`] tells, in one indexed read, whether anything of the
//! tenant changed since a value was read (`crate::list_cache`).

use expense_migration::{Migrator, MigratorTrait, TENANT_TABLES, TENANT_VERSIONS};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::tenant::TenantScope;

/// The service's connection pool (as the non-owner application role on PostgreSQL).
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
}

/// A transaction confined to one tenant. Dropping it without [`TenantTx::commit`] rolls back.
#[derive(Debug)]
pub struct TenantTx {
    tx: DatabaseTransaction,
    scope: TenantScope,
    /// Opened by [`Db::write`]: committing bumps the tenant's version.
    writes: bool,
}

impl TenantTx {
    /// The connection to hand to repository functions.
    #[must_use]
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// The tenant this transaction is confined to.
    #[must_use]
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    /// Commits; a write transaction first bumps the tenant's version (so that cached reads
    /// of the tenant are read again), in the same transaction.
    ///
    /// # Errors
    /// The database error.
    pub async fn commit(self) -> Result<(), DbErr> {
        if self.writes {
            let backend = self.tx.get_database_backend();
            let p = placeholder(backend);
            self.tx
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "INSERT INTO {TENANT_VERSIONS} (tenant_id, version) VALUES ({p}, 1) \
                         ON CONFLICT (tenant_id) DO UPDATE SET version = {TENANT_VERSIONS}.version + 1"
                    ),
                    [self.scope.tenant_id().into()],
                ))
                .await?;
        }
        self.tx.commit().await
    }
}

/// Opens a pool with service-kit's options (on SQLite: the file's directory created, WAL,
/// `synchronous=NORMAL`, a busy timeout, foreign keys — the same as auth-service).
///
/// # Errors
/// The database error (unreachable server, bad URL, unwritable file).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    service_kit::db::connect(url, max_connections).await
}

/// Runs pending migrations as the table owner, then (PostgreSQL) grants the application role
/// exactly what it needs on the tenant tables (and read access to the migration table, so
/// that a start-up as the app role can see there is nothing to do).
///
/// When nothing is pending no DDL runs at all: a service restarted as the non-owner role
/// (`MIGRATION_DATABASE_URL` left at its default) starts fine once an owner has migrated.
///
/// # Errors
/// The database error; a role name that is not a plain identifier.
pub async fn migrate(owner: &DatabaseConnection, app_role: Option<&str>) -> Result<(), DbErr> {
    let up_to_date = Migrator::get_pending_migrations_read_only(owner)
        .await
        .is_ok_and(|pending| pending.is_empty());
    if !up_to_date {
        Migrator::up(owner, None).await?;
    }
    if owner.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    if let Some(role) = app_role {
        let role = quote_ident(role)?;
        let tables = TENANT_TABLES.join(", ");
        owner
            .execute_unprepared(&format!(
                "GRANT USAGE ON SCHEMA public TO {role}; \
                 GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {role}; \
                 GRANT SELECT, INSERT, UPDATE ON {TENANT_VERSIONS} TO {role}; \
                 GRANT SELECT ON seaql_migrations TO {role};"
            ))
            .await?;
    }
    Ok(())
}

/// The first bind parameter's spelling.
pub(crate) fn placeholder(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    }
}

/// Quotes a role name for SQL, refusing anything but a conservative identifier (the name
/// comes from configuration, but DDL can't take it as a bound parameter).
fn quote_ident(name: &str) -> Result<String, DbErr> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(format!("\"{name}\""))
    } else {
        Err(DbErr::Custom(format!(
            "APP_DB_ROLE {name:?} is not a plain role name"
        )))
    }
}

impl Db {
    /// Wraps a pool.
    #[must_use]
    pub fn new(conn: DatabaseConnection) -> Self {
        Db { conn }
    }

    /// The pool itself, for service-kit's readiness check (never for queries: those go
    /// through tenant transactions).
    #[must_use]
    pub(crate) fn pool(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Which database this is.
    #[must_use]
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// A tenant transaction for reading.
    ///
    /// # Errors
    /// The database error.
    pub async fn read(&self, scope: &TenantScope) -> Result<TenantTx, DbErr> {
        self.begin(scope, TransactionOptions::default(), false)
            .await
    }

    /// A tenant transaction for reading then writing. On SQLite it is `BEGIN IMMEDIATE`, so
    /// concurrent writers wait for the lock instead of failing when they upgrade.
    ///
    /// # Errors
    /// The database error.
    pub async fn write(&self, scope: &TenantScope) -> Result<TenantTx, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.begin(scope, options, true).await
    }

    async fn begin(
        &self,
        scope: &TenantScope,
        options: TransactionOptions,
        writes: bool,
    ) -> Result<TenantTx, DbErr> {
        let tx = self.conn.begin_with_options(options).await?;
        if tx.get_database_backend() == DbBackend::Postgres {
            tx.query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('app.tenant_id', $1, true)",
                [scope.tenant_id().to_string().into()],
            ))
            .await?;
        }
        Ok(TenantTx {
            tx,
            scope: *scope,
            writes,
        })
    }

    /// The tenant's version: how many write transactions of it have committed (0 before the
    /// first). One statement outside any transaction; the table holds no tenant data, and on
    /// PostgreSQL its policy lets every row be read but only the current tenant's be written.
    ///
    /// # Errors
    /// The database error.
    pub async fn tenant_version(&self, scope: &TenantScope) -> Result<i64, DbErr> {
        let backend = self.backend();
        let p = placeholder(backend);
        let row = self
            .conn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT version FROM {TENANT_VERSIONS} WHERE tenant_id = {p}"),
                [scope.tenant_id().into()],
            ))
            .await?;
        match row {
            Some(row) => row.try_get_by_index(0),
            None => Ok(0),
        }
    }

    /// Readiness: one round trip.
    ///
    /// # Errors
    /// The database error.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    /// Closes the pool (graceful shutdown).
    ///
    /// # Errors
    /// The database error.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drift fixed: expense-service's SQLite connections used to run without WAL, busy
    /// timeout or foreign keys (only auth-service set them).
    #[tokio::test]
    async fn sqlite_connections_get_the_shared_options() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/data/e.db?mode=rwc", dir.path().display());
        let db = connect(&url, 1).await.expect("connects");
        for (pragma, expected) in [
            ("journal_mode", "wal"),
            ("synchronous", "1"),
            ("busy_timeout", "5000"),
            ("foreign_keys", "1"),
        ] {
            let value = service_kit::db::sqlite_pragma(&db, pragma)
                .await
                .expect("a pragma value");
            assert_eq!(value, expected, "PRAGMA {pragma}");
        }
    }

    #[test]
    fn role_names_are_checked_before_quoting() {
        assert_eq!(quote_ident("expense_app").unwrap(), "\"expense_app\"");
        assert!(quote_ident("x\"; DROP TABLE expenses; --").is_err());
        assert!(quote_ident("").is_err());
    }
}
