//! The management CLI, run as the real binary (`CARGO_BIN_EXE_auth-service`) with its
//! own data directory and database: a fresh SQLite file, and (with `TEST_DATABASE_URL`)
//! a fresh PostgreSQL database. Passwords go in on standard input, never in argv.

// A failed unwrap in the harness is a failed test.
#![allow(clippy::unwrap_used)]

mod keys;
mod manage;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use sea_orm::{ConnectionTrait, Database};

/// One CLI environment: a data dir and a database URL.
pub struct CliEnv {
    pub dir: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
    pg: Option<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends to run on: SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        v.push(Backend::Postgres);
    }
    v
}

impl CliEnv {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut pg = None;
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}/auth.db?mode=rwc", dir.path().display()),
            Backend::Postgres => {
                let admin = std::env::var("TEST_DATABASE_URL").unwrap();
                let name = format!("auth_cli_{}", uuid::Uuid::new_v4().simple());
                let conn = Database::connect(&admin).await.unwrap();
                conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&format!("/{name}"));
                pg = Some((admin, name));
                url.to_string()
            }
        };
        let vars = vec![
            ("DATA_DIR".to_owned(), dir.path().display().to_string()),
            ("DATABASE_URL".to_owned(), url),
        ];
        Self { dir, vars, pg }
    }

    /// Adds or replaces a variable.
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value.to_owned()));
    }

    /// The service's settings as the binary sees them.
    pub fn settings(&self) -> auth_service::Settings {
        auth_service::Settings::from_lookup(|k| {
            self.vars
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    /// A command with exactly this environment (nothing inherited).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_auth-service"));
        cmd.args(args)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs the binary with `stdin` piped in.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `--json` and parses stdout.
    pub fn json(&self, args: &[&str], stdin: &str) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a, stdin)).unwrap()
    }

    /// Runs and expects exit status 2 (bad input); returns stderr.
    pub fn refused(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Drops the PostgreSQL database (best effort).
    pub async fn cleanup(self) {
        if let Some((admin, name)) = self.pg
            && let Ok(conn) = Database::connect(&admin).await
        {
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }

    /// A database connection for assertions.
    pub async fn db(&self) -> sea_orm::DatabaseConnection {
        auth_service::startup::connect_database(&self.settings())
            .await
            .unwrap()
    }
}
