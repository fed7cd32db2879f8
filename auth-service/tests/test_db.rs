//! The harness's promise that no database outlives its test: test-support's `TestDb` is
//! removed when dropped, also while a test panics with connections still open.

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use test_support::{Backend, TestDb, db_tests, pg_admin_url};

db_tests!(a_test_database_is_removed_even_when_its_test_panics);

async fn a_test_database_is_removed_even_when_its_test_panics(b: Backend) {
    let db = TestDb::with_app_role(b, "auth_test").await;
    let (url, dir, role) = (db.url.clone(), db.dir().to_path_buf(), db.app_role.clone());
    let name = url.rsplit('/').next().unwrap().to_owned();
    assert!(dir.exists());
    let failing = tokio::spawn(async move {
        // A connection the "application" still holds when the test fails (declared
        // first, so it is dropped after the database).
        let conn = Database::connect(&url).await.unwrap();
        conn.execute_unprepared("CREATE TABLE t (id INTEGER)")
            .await
            .unwrap();
        let _db = db;
        panic!("the test fails with its database open");
    });
    assert!(failing.await.unwrap_err().is_panic());
    assert!(!dir.exists(), "the temporary directory is gone");
    if b == Backend::Postgres {
        let admin = Database::connect(pg_admin_url().unwrap()).await.unwrap();
        let left = |sql: &str, value: String| {
            Statement::from_sql_and_values(DbBackend::Postgres, sql, [value.into()])
        };
        let dbs = admin
            .query_all_raw(left("SELECT 1 FROM pg_database WHERE datname = $1", name))
            .await
            .unwrap();
        assert!(dbs.is_empty(), "the PostgreSQL database is dropped");
        let roles = admin
            .query_all_raw(left(
                "SELECT 1 FROM pg_roles WHERE rolname = $1",
                role.unwrap(),
            ))
            .await
            .unwrap();
        assert!(roles.is_empty(), "the PostgreSQL role is dropped");
    }
}
