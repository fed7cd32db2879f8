//! One database per test: a SQLite file in a temporary directory, or a PostgreSQL database
//! (and, on request, a login role that owns nothing) created through `TEST_DATABASE_URL`.
//! `Drop` removes the PostgreSQL database and role, also when the test panics.

use std::path::Path;

use sea_orm::{ConnectionTrait, Database};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL admin URL (`TEST_DATABASE_URL`), when set and not blank.
pub fn pg_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// `admin` with another database (path) and, optionally, another user without password.
fn pg_url(admin: &str, db: &str, user: Option<&str>) -> String {
    let mut url = url::Url::parse(admin).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{db}"));
    if let Some(user) = user {
        url.set_username(user).expect("a URL with a host");
        url.set_password(None).expect("a URL with a host");
    }
    url.to_string()
}

/// What `Drop` removes on PostgreSQL.
#[derive(Debug)]
struct PgCleanup {
    admin: String,
    db: String,
    role: Option<String>,
}

/// The database of one test, and a temporary directory (the SQLite file, and whatever
/// else the test keeps on disk: keys, data dir) removed with it.
#[derive(Debug)]
pub struct TestDb {
    /// The owner's URL: migrations, and everything on SQLite.
    pub url: String,
    /// The URL the application uses: on PostgreSQL with [`TestDb::with_app_role`], the
    /// role that owns nothing (row-level security applies to it); otherwise [`TestDb::url`].
    pub app_url: String,
    /// That role's name.
    pub app_role: Option<String>,
    dir: tempfile::TempDir,
    pg: Option<PgCleanup>,
}

impl TestDb {
    /// A fresh database `name` (the SQLite file `name.db`, or the PostgreSQL database
    /// `name_<uuid>`).
    pub async fn new(backend: Backend, name: &str) -> Self {
        Self::create(backend, name, false).await
    }

    /// [`TestDb::new`] plus, on PostgreSQL, a fresh login role without any privilege
    /// (no superuser, no BYPASSRLS) for [`TestDb::app_url`].
    pub async fn with_app_role(backend: Backend, name: &str) -> Self {
        Self::create(backend, name, true).await
    }

    async fn create(backend: Backend, name: &str, app_role: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}/{name}.db?mode=rwc", dir.path().display());
                TestDb {
                    app_url: url.clone(),
                    url,
                    app_role: None,
                    dir,
                    pg: None,
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url().expect("TEST_DATABASE_URL is set");
                let suffix = uuid::Uuid::new_v4().simple().to_string();
                let db = format!("{name}_{suffix}");
                let conn = Database::connect(&admin)
                    .await
                    .expect("TEST_DATABASE_URL accepts connections");
                conn.execute_unprepared(&format!("CREATE DATABASE \"{db}\""))
                    .await
                    .expect("CREATE DATABASE");
                let role = if app_role {
                    let role = format!("{name}_app_{suffix}");
                    conn.execute_unprepared(&format!(
                        "CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOBYPASSRLS"
                    ))
                    .await
                    .expect("CREATE ROLE");
                    Some(role)
                } else {
                    None
                };
                let _ = conn.close().await;
                TestDb {
                    url: pg_url(&admin, &db, None),
                    app_url: pg_url(&admin, &db, role.as_deref()),
                    app_role: role.clone(),
                    dir,
                    pg: Some(PgCleanup { admin, db, role }),
                }
            }
        }
    }

    /// The test's temporary directory (removed with the database).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl PgCleanup {
    async fn run(self) {
        let Ok(conn) = Database::connect(&self.admin).await else {
            eprintln!(
                "cannot reach TEST_DATABASE_URL: database {} left behind",
                self.db
            );
            return;
        };
        // FORCE ends the connections the application's pool still holds.
        let dropped = conn
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.db
            ))
            .await;
        if let Err(e) = dropped {
            eprintln!("database {} left behind: {e}", self.db);
        }
        if let Some(role) = self.role
            && let Err(e) = conn
                .execute_unprepared(&format!("DROP ROLE IF EXISTS \"{role}\""))
                .await
        {
            eprintln!("role {role} left behind: {e}");
        }
        let _ = conn.close().await;
    }
}

impl Drop for TestDb {
    /// Drops the PostgreSQL database (and role) before returning: on a thread of its own
    /// with its own runtime (`Drop` cannot await, and the test's runtime may be unwinding
    /// or single-threaded), joined so nothing is left when the test ends.
    fn drop(&mut self) {
        if let Some(cleanup) = self.pg.take() {
            let done =
                std::thread::spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt.block_on(cleanup.run()),
                        Err(e) => eprintln!("no runtime to drop database {}: {e}", cleanup.db),
                    }
                })
                .join();
            if done.is_err() {
                eprintln!("the database clean-up thread panicked");
            }
        }
    }
}
