//! Test infrastructure shared by the services' integration tests (dev-only, never published):
//! a database per test ([`TestDb`]: a fresh SQLite file, or a fresh PostgreSQL database
//! created through `TEST_DATABASE_URL` and dropped when the test ends, panicking or not),
//! [`db_tests!`] (each scenario on SQLite and on PostgreSQL as two separate tests),
//! browser-like HTTP clients ([`http`]) and, with the `stack` feature, the real
//! auth-service and expense-service side by side ([`stack`]).

mod db;
pub mod http;
#[cfg(feature = "stack")]
pub mod stack;

pub use db::{Backend, TestDb, pg_admin_url};

/// Declares each `async fn NAME(backend: Backend)` of the current module as two tests,
/// `NAME::sqlite` and `NAME::postgres`, which run in parallel like any other tests. The
/// PostgreSQL one returns early (saying so once) when `TEST_DATABASE_URL` is unset.
///
/// `db_tests!(a, b)` runs each on a two-worker multi-thread runtime;
/// `db_tests!(worker_threads = 4; a, b)` chooses the number of workers.
#[macro_export]
macro_rules! db_tests {
    (worker_threads = $n:literal; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[::tokio::test(flavor = "multi_thread", worker_threads = $n)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }
            #[::tokio::test(flavor = "multi_thread", worker_threads = $n)]
            async fn postgres() {
                if $crate::pg_admin_url().is_none() {
                    eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant skipped");
                    return;
                }
                super::$name($crate::Backend::Postgres).await;
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {
        $crate::db_tests!(worker_threads = 2; $($name),*);
    };
}
