//! The management CLI, run as the real binary (`CARGO_BIN_EXE_auth-service`) with its
//! own data directory and database: a fresh SQLite file, and (with `TEST_DATABASE_URL`)
//! a fresh PostgreSQL database. Passwords go in on standard input, never in argv.

mod audit;
mod healthcheck;
mod keys;
mod manage;
mod prune;
mod reset_mfa;
mod tenant_set;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use test_support::{Backend, TestDb};

/// One CLI environment: a data dir and a database URL (both removed with it).
pub struct CliEnv {
    pub vars: Vec<(String, String)>,
    _db: TestDb,
}

impl CliEnv {
    pub async fn new(backend: Backend) -> Self {
        let db = TestDb::new(backend, "auth_cli").await;
        let mut vars = vec![
            ("DATA_DIR".to_owned(), db.dir().display().to_string()),
            ("DATABASE_URL".to_owned(), db.url.clone()),
        ];
        if backend == Backend::Postgres {
            vars.push((
                "KEY_ENCRYPTION_KEY".to_owned(),
                test_support::TEST_KEY_ENCRYPTION_KEY.to_owned(),
            ));
        }
        Self { vars, _db: db }
    }

    /// The data directory (also a scratch directory for the test's files).
    pub fn dir(&self) -> &std::path::Path {
        self._db.dir()
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

    /// A database connection for assertions.
    pub async fn db(&self) -> sea_orm::DatabaseConnection {
        auth_service::startup::connect_database(&self.settings())
            .await
            .unwrap()
    }
}
