//! Typed configuration, read once at start-up from the environment (or any lookup function,
//! for tests). A missing or malformed value fails with one line naming the variable.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BIND` | listen address | `127.0.0.1:8001` |
//! | `DATABASE_URL` | the app's connection (on PostgreSQL: a role that does **not** own the tables) | `sqlite://data/expenses.db?mode=rwc` |
//! | `MIGRATION_DATABASE_URL` | the table owner's connection, used only to migrate | `DATABASE_URL` |
//! | `APP_DB_ROLE` | PostgreSQL role granted DML on the tenant tables after migrating | `DATABASE_URL`'s user when it differs from the owner's |
//! | `RUN_MIGRATIONS` | migrate at start-up | `true` |
//! | `DB_MAX_CONNECTIONS` | pool size | `10` |
//! | `LIST_CACHE_ENTRIES` | list pages kept in memory, served again while no write of their tenant has committed (`0`: off) | `256` |
//! | `REQUEST_TIMEOUT` | answered `408` after | `30s` |
//! | `LOG_FORMAT`, `RUST_LOG` | `pretty`/`json`; tracing filter | `pretty`, `info` |
//!
//! plus everything shared-jwt reads (`AUTH_URL`, `PUBLIC_URL` — default `http://localhost:8001`,
//! `COOKIE_DOMAIN`, `JWT_*`, `JWKS_URL`, `TENANT_FROM_HOST`, `CSRF_SECRET`). Booleans and
//! durations follow the workspace's one grammar (shared-jwt's `config::Vars`).

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use service_kit::{ServiceDefaults, ServiceSettings};
use shared_jwt::AuthSettings;
use shared_jwt::config::Vars;

pub use service_kit::LogFormat;
/// A setting that could not be used (shared-jwt's, the one shape in the workspace): names
/// the variable, never prints its value.
pub use shared_jwt::ConfigError;

/// The default SQLite database (created on first start).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/expenses.db?mode=rwc";
/// The most list pages `LIST_CACHE_ENTRIES` may keep (a page of 20 with its totals is a few
/// kB to a few tens of kB).
pub const MAX_LIST_CACHE_ENTRIES: usize = 100_000;
/// The default `PUBLIC_URL`.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8001";

/// Everything the service needs to start.
#[derive(Debug)]
pub struct Settings {
    /// Listen address (`127.0.0.1:0` in tests).
    pub bind: SocketAddr,
    /// The application's connection URL (may hold a password: secret).
    pub database_url: SecretString,
    /// The owner's connection URL, for migrations.
    pub migration_database_url: SecretString,
    /// PostgreSQL role to grant DML on the tenant tables after migrating.
    pub app_db_role: Option<String>,
    /// Run migrations at start-up.
    pub run_migrations: bool,
    /// Pool size.
    pub db_max_connections: u32,
    /// `LIST_CACHE_ENTRIES`: list pages kept in memory (0: none).
    pub list_cache_entries: usize,
    /// `REQUEST_TIMEOUT`: answered `408` after; default 30 s.
    pub request_timeout: Duration,
    /// Token verification, cookies, URLs, CSRF (shared-jwt).
    pub auth: AuthSettings,
    /// Log format.
    pub log_format: LogFormat,
    /// Tracing filter.
    pub rust_log: String,
    /// `METRICS_BIND`: `/metrics` on its own listener instead of `BIND`; default unset.
    pub metrics_bind: Option<std::net::SocketAddr>,
}

/// The user name of a PostgreSQL URL, if any.
fn pg_user(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "postgres" | "postgresql")
        .then(|| parsed.username().to_owned())
        .filter(|u| !u.is_empty())
}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (tests pass a map), in the workspace's one grammar
    /// (shared-jwt's `Vars`); the common variables are read by service-kit, the token's by
    /// shared-jwt.
    ///
    /// # Errors
    /// The first variable that is missing or malformed.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(&get);
        let common = ServiceSettings::read(
            &vars,
            &ServiceDefaults {
                bind: "127.0.0.1:8001",
                database_url: DEFAULT_DATABASE_URL.to_owned(),
            },
        )?;
        let migration_database_url = service_kit::settings::database_url(
            &vars,
            "MIGRATION_DATABASE_URL",
            common.database_url.expose_secret(),
        )?;
        let app_db_role = vars.get("APP_DB_ROLE").or_else(|| {
            pg_user(common.database_url.expose_secret())
                .filter(|u| Some(u) != pg_user(&migration_database_url).as_ref())
        });
        let run_migrations = vars.bool("RUN_MIGRATIONS", true)?;
        let list_cache_entries = vars.parse("LIST_CACHE_ENTRIES", "256", |v| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_LIST_CACHE_ENTRIES)
                .ok_or_else(|| {
                    format!(
                        "expected a number of list pages from 0 (off) to {MAX_LIST_CACHE_ENTRIES}"
                    )
                })
        })?;
        // shared-jwt reads its own variables; this service's public URL has its own default.
        let auth = AuthSettings::from_lookup_with(&get, DEFAULT_PUBLIC_URL)?;
        Ok(Settings {
            bind: common.bind,
            database_url: common.database_url,
            migration_database_url: SecretString::from(migration_database_url),
            app_db_role,
            run_migrations,
            db_max_connections: common.db_max_connections,
            list_cache_entries,
            request_timeout: common.request_timeout,
            auth,
            log_format: common.log_format,
            rust_log: common.rust_log,
            metrics_bind: common.metrics_bind,
        })
    }

    /// Whether the app connects with a different URL than the migrations (it should, on
    /// PostgreSQL: the owner bypasses nothing thanks to FORCE RLS, but least privilege).
    #[must_use]
    pub fn separate_migration_url(&self) -> bool {
        self.database_url.expose_secret() != self.migration_database_url.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_contract_ones() {
        let s = Settings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8001");
        assert_eq!(s.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert!(!s.separate_migration_url());
        assert_eq!(s.app_db_role, None);
        assert!(s.run_migrations);
        assert_eq!(s.auth.public_url.as_str(), "http://localhost:8001/");
    }

    #[test]
    fn the_app_role_defaults_to_the_app_urls_user() {
        let s = Settings::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://expense_app:pw@db/expenses"),
            (
                "MIGRATION_DATABASE_URL",
                "postgres://expense_owner:pw@db/expenses",
            ),
        ]))
        .unwrap();
        assert_eq!(s.app_db_role.as_deref(), Some("expense_app"));
        assert!(s.separate_migration_url());
    }

    #[test]
    fn bad_values_name_the_variable_without_the_value() {
        let err = Settings::from_lookup(lookup(&[("DATABASE_URL", "mysql://u:secret@h/db")]))
            .unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(!err.to_string().contains("secret"));
        let err = Settings::from_lookup(lookup(&[("BIND", "nope")])).unwrap_err();
        assert!(err.to_string().starts_with("invalid setting BIND: "));
        let err = Settings::from_lookup(lookup(&[("RUN_MIGRATIONS", "maybe")])).unwrap_err();
        assert_eq!(err.variable, "RUN_MIGRATIONS");
    }
}

#[cfg(test)]
mod grammar_tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Settings::from_lookup(move |k| map.get(k).cloned())
    }

    /// Drift fixed: a lifetime of 0 used to start expense-service (and stop auth-service),
    /// `1h 30m` the reverse; booleans take one grammar everywhere.
    #[test]
    fn the_workspace_grammar_applies() {
        let s = settings(&[
            ("COOKIE_SECURE", "on"),
            ("RUN_MIGRATIONS", "OFF"),
            ("ACCESS_TOKEN_TTL", "1h 30m"),
            ("REQUEST_TIMEOUT", "1m"),
        ])
        .unwrap();
        assert!(s.auth.cookies.secure);
        assert!(!s.run_migrations);
        assert_eq!(s.auth.cookies.access_ttl, Duration::from_secs(5_400));
        assert_eq!(s.request_timeout, Duration::from_secs(60));
        for (var, value) in [
            ("ACCESS_TOKEN_TTL", "0"),
            ("REFRESH_TOKEN_TTL", "0s"),
            ("REQUEST_TIMEOUT", "0"),
            ("RUN_MIGRATIONS", "maybe"),
            ("LOG_FORMAT", "xml"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
        }
        assert_eq!(
            settings(&[("JWT_LEEWAY", "0")])
                .unwrap()
                .auth
                .verifier
                .leeway,
            Duration::ZERO,
            "a leeway may be zero"
        );
    }
}
