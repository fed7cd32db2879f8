//! Start-up: one clear line when verifying keys can't be loaded; `migrate` creates the
//! default SQLite file; settings errors name the variable.

use std::process::Command;

use expense_service::config::Settings;
use expense_service::startup::Application;
use shared_jwt::{Algorithm, KeySet, KeySource, SigningKey};

use crate::api::helpers::{Backend, settings_lookup, test_db};
use test_support::db_tests;

db_tests!(restarts_as_the_app_role_once_an_owner_migrated);

const BIN: &str = env!("CARGO_BIN_EXE_expense-service");

/// RFC 8410 §10.1's Ed25519 public key.
const ED25519_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

/// Runs the binary in a fresh directory with exactly these variables.
fn run(args: &[&str], vars: &[(&str, &str)]) -> (bool, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .envs(vars.iter().copied())
        .env("BIND", "127.0.0.1:0")
        .output()
        .expect("run the binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
    )
}

fn assert_one_line(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr:?}");
    assert!(lines[0].contains(needle), "{needle:?} in {stderr:?}");
}

#[test]
fn unreachable_jwks_stops_start_up_with_one_line() {
    let (ok, stderr, _dir) = run(
        &[],
        &[("JWKS_URL", "http://127.0.0.1:9/.well-known/jwks.json")],
    );
    assert!(!ok);
    assert_one_line(&stderr, "cannot load JWT verifying keys");
}

#[test]
fn unreadable_key_file_stops_start_up_with_one_line() {
    let (ok, stderr, _dir) = run(
        &["serve"],
        &[("JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")],
    );
    assert!(!ok);
    assert_one_line(&stderr, "JWT_PUBLIC_KEY_FILE");
}

#[test]
fn key_of_the_wrong_algorithm_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ed25519.pem");
    std::fs::write(&path, ED25519_PUBLIC_PEM).unwrap();
    let path = path.to_str().unwrap();
    // The Ed25519 key loads as EdDSA…
    let (ok, stderr, _d) = run(&["migrate"], &[("JWT_PUBLIC_KEY_FILE", path)]);
    assert!(ok, "{stderr}");
    // …but not when ES256 is configured.
    let (ok, stderr, _d) = run(
        &[],
        &[("JWT_PUBLIC_KEY_FILE", path), ("JWT_ALGORITHM", "ES256")],
    );
    assert!(!ok);
    assert_one_line(&stderr, "JWT_PUBLIC_KEY_FILE");
}

#[tokio::test]
async fn keys_of_another_algorithm_make_build_fail() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/e.db?mode=rwc", dir.path().display());
    let vars = [
        ("BIND", "127.0.0.1:0"),
        ("DATABASE_URL", url.as_str()),
        ("JWT_ALGORITHM", "ES256"),
    ];
    let mut settings = Settings::from_lookup(settings_lookup(vars)).unwrap();
    let mut keys = KeySet::new();
    keys.insert(
        SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .verifying_key(),
    );
    settings.auth.key_source = KeySource::Static(keys);
    let err = Application::build(settings).await.unwrap_err();
    let line = format!("{err:#}");
    assert!(line.starts_with("cannot load JWT verifying keys"), "{line}");
    assert!(!line.contains('\n'));
    assert!(
        !dir.path().join("e.db").exists(),
        "nothing touched before the keys load"
    );
}

#[test]
fn migrate_creates_the_default_sqlite_database() {
    let (ok, stderr, dir) = run(
        &["migrate"],
        &[("JWT_ALGORITHM", "HS512"), ("JWT_SECRET", &"s".repeat(64))],
    );
    assert!(ok, "{stderr}");
    assert!(dir.path().join("data/expenses.db").exists());
}

#[test]
fn bad_settings_name_the_variable() {
    let (ok, stderr, _dir) = run(&[], &[("DATABASE_URL", "mysql://root:hunter2@db/x")]);
    assert!(!ok);
    assert_one_line(&stderr, "DATABASE_URL");
    assert!(!stderr.contains("hunter2"), "never prints the secret");
    let (ok, stderr, _dir) = run(&[], &[("JWT_ALGORITHM", "none")]);
    assert!(!ok);
    assert_one_line(&stderr, "JWT_ALGORITHM");
    let (ok, stderr, _dir) = run(&[], &[("JWKS_URL", "not a url")]);
    assert!(!ok);
    assert_one_line(&stderr, "JWKS_URL");
}

/// The deployment shape: a migrate job as the owner, then `serve` with only the app role's
/// `DATABASE_URL` (migrations on by default): nothing is pending, so no DDL is attempted.
async fn restarts_as_the_app_role_once_an_owner_migrated(backend: Backend) {
    let test_db = test_db(backend).await;
    let owner = expense_service::db::connect(&test_db.url, 1).await.unwrap();
    expense_service::db::migrate(&owner, test_db.app_role.as_deref())
        .await
        .unwrap();
    owner.close().await.unwrap();
    let vars = [
        ("BIND", "127.0.0.1:0"),
        ("DATABASE_URL", test_db.app_url.as_str()),
    ];
    let mut settings = Settings::from_lookup(settings_lookup(vars)).unwrap();
    assert!(settings.run_migrations);
    let mut keys = KeySet::new();
    keys.insert(
        SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .verifying_key(),
    );
    settings.auth.key_source = KeySource::Static(keys);
    let app = Application::build(settings)
        .await
        .expect("starts as the app role");
    let port = app.port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let res = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// `expense-service healthcheck`, the real binary: 0 while a running expense-service's
/// `/readyz` answers 200, 1 once nothing listens there.
#[tokio::test]
async fn healthcheck_exits_0_only_when_ready() {
    let app = crate::api::helpers::TestApp::spawn(Backend::Sqlite).await;
    let check = |bind: String| async move {
        tokio::process::Command::new(BIN)
            .arg("healthcheck")
            .env_clear()
            .envs([
                ("AUTH_URL", "http://auth.example.test"),
                ("PUBLIC_URL", "http://expenses.example.test"),
                ("COOKIE_DOMAIN", "example.test"),
                ("CSRF_SECRET", crate::api::helpers::CSRF_SECRET),
                ("JWKS_URL", "http://127.0.0.1:9/unused"),
            ])
            .env("BIND", bind)
            .output()
            .await
            .unwrap()
    };
    let port = app.port;
    let out = check(format!("0.0.0.0:{port}")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
    let out = check(format!("127.0.0.1:{port}")).await;
    assert_eq!(out.status.code(), Some(1));
    assert_one_line(&String::from_utf8_lossy(&out.stderr), "/readyz");
}
