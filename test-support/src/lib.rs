//! Test infrastructure shared by the services' integration tests (dev-only, never published):
//! a database per test ([`TestDb`]: a fresh SQLite file, or a fresh PostgreSQL database
//! created through `TEST_DATABASE_URL` and dropped when the test ends, panicking or not),
//! [`db_tests!`] (each scenario on SQLite and on PostgreSQL as two separate tests),
//! browser-like HTTP clients ([`http`]), arbitrary request inputs for the never-a-500
//! properties ([`inputs`]) and, with the `stack` feature, the real
//! auth-service and expense-service side by side ([`stack`]).

mod db;
pub mod http;
pub mod inputs;
pub mod smtp;
#[cfg(feature = "stack")]
pub mod stack;

pub use db::{Backend, TestDb, pg_admin_url};

/// A `KEY_ENCRYPTION_KEY` for tests on PostgreSQL (where auth-service requires one): 32
/// bytes in base64. Never a real deployment's.
pub const TEST_KEY_ENCRYPTION_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// A settings lookup (`Settings::from_lookup`) over `vars`, a test's whole environment;
/// of a name given twice, the later value wins.
pub fn settings_lookup<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> impl Fn(&str) -> Option<String>
where
    K: Into<String>,
    V: Into<String>,
{
    let vars: std::collections::HashMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    move |name| vars.get(name).cloned()
}

/// True (after saying so once on stderr) when `TEST_DATABASE_URL` is unset: the
/// PostgreSQL variant of a test then returns early.
pub fn postgres_skipped() -> bool {
    let skipped = pg_admin_url().is_none();
    if skipped {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped");
    }
    skipped
}

/// Declares each `async fn NAME(backend: Backend)` of the current module as two tests,
/// `NAME::sqlite` and `NAME::postgres`, which run in parallel like any other tests. The
/// PostgreSQL one returns early (saying so once) when `TEST_DATABASE_URL` is unset.
///
/// `db_tests!(a, b)` runs each on a two-worker multi-thread runtime;
/// `db_tests!(worker_threads = 4; a, b)` chooses the number of workers;
/// `db_tests!(blocking; a, b)` declares plain `fn NAME(backend: Backend)` (no runtime).
#[macro_export]
macro_rules! db_tests {
    (blocking; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::Backend::Sqlite);
            }
            #[test]
            fn postgres() {
                if !$crate::postgres_skipped() {
                    super::$name($crate::Backend::Postgres);
                }
            }
        }
    )*};
    (worker_threads = $n:literal; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[::tokio::test(flavor = "multi_thread", worker_threads = $n)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }
            #[::tokio::test(flavor = "multi_thread", worker_threads = $n)]
            async fn postgres() {
                if !$crate::postgres_skipped() {
                    super::$name($crate::Backend::Postgres).await;
                }
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {
        $crate::db_tests!(worker_threads = 2; $($name),*);
    };
}
