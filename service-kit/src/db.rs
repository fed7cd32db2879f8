//! Opening a service's database pool: the same timeouts everywhere and, on SQLite, the same
//! connection options (WAL, `synchronous=NORMAL`, a busy timeout, foreign keys).

use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};

/// How long a writer waits for SQLite's lock before failing with "database is locked".
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a pool of at most `max_connections`. A SQLite file's directory is created first
/// (the file itself with `?mode=rwc`).
///
/// # Errors
/// The directory cannot be created, or the database cannot be reached.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_file_path(url)
        && let Some(dir) = Path::new(&path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbErr::Custom(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // Requests are logged by our own spans; sqlx's log would print every statement.
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // WAL: readers do not block the writer. NORMAL sync is durable against corruption
        // in WAL mode and avoids an fsync per commit. Writers queue for the lock instead of
        // failing at once. SQLite enforces foreign keys only when asked, per connection.
        // No ping before each checkout (sqlx's default): an embedded database has no server
        // or network to lose the connection to, and every ping is one more round trip to the
        // connection's worker thread (two thread wake-ups) per statement outside a
        // transaction (issue 13: sign-in's CPU besides argon2).
        options.test_before_acquire(false);
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    }
    Database::connect(options).await
}

/// The file of a `sqlite:` URL, if it names one (not for in-memory databases).
#[must_use]
pub fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// The value of `PRAGMA name` on one of the pool's SQLite connections, as text (what the
/// SQLite options above produce, for tests and diagnostics).
///
/// # Errors
/// The database error, or a pragma that answers no row.
pub async fn sqlite_pragma(db: &DatabaseConnection, name: &str) -> Result<String, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("PRAGMA {name}"),
        ))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("PRAGMA {name} answered no row")))?;
    row.try_get_by_index::<i64>(0)
        .map(|n| n.to_string())
        .or_else(|_| row.try_get_by_index::<String>(0))
        .map_err(|e| DbErr::Custom(format!("PRAGMA {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_file_path("sqlite://data/expenses.db?mode=rwc").as_deref(),
            Some("data/expenses.db")
        );
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(sqlite_file_path("postgres://x@y/z"), None);
    }

    #[tokio::test]
    async fn sqlite_gets_wal_normal_sync_a_busy_timeout_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/x.db?mode=rwc", dir.path().display());
        let db = connect(&url, 2).await.unwrap();
        assert!(dir.path().join("nested/x.db").exists(), "directory created");
        assert_eq!(sqlite_pragma(&db, "journal_mode").await.unwrap(), "wal");
        assert_eq!(
            sqlite_pragma(&db, "synchronous").await.unwrap(),
            "1",
            "NORMAL"
        );
        assert_eq!(sqlite_pragma(&db, "busy_timeout").await.unwrap(), "5000");
        assert_eq!(sqlite_pragma(&db, "foreign_keys").await.unwrap(), "1");
    }
}
