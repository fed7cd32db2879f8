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
//! | `LOG_FORMAT`, `RUST_LOG` | `pretty`/`json`; tracing filter | `pretty`, `info` |
//!
//! plus everything shared-jwt reads (`AUTH_URL`, `PUBLIC_URL` — default `http://localhost:8001`,
//! `COOKIE_DOMAIN`, `JWT_*`, `JWKS_URL`, `TENANT_FROM_HOST`, `CSRF_SECRET`).

use secrecy::{ExposeSecret, SecretString};
use shared_jwt::AuthSettings;

/// The default SQLite database (created on first start).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/expenses.db?mode=rwc";

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// A setting that could not be used: names the variable, never prints a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    fn new(variable: &str, message: impl Into<String>) -> Self {
        ConfigError {
            variable: variable.to_owned(),
            message: message.into(),
        }
    }
}

/// Everything the service needs to start.
#[derive(Debug)]
pub struct Settings {
    /// Listen address (`127.0.0.1:0` in tests).
    pub bind: String,
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
    /// Token verification, cookies, URLs, CSRF (shared-jwt).
    pub auth: AuthSettings,
    /// Log format.
    pub log_format: LogFormat,
    /// Tracing filter.
    pub rust_log: String,
}

fn parse_bool(name: &str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(ConfigError::new(name, "expected true or false")),
    }
}

/// The user name of a PostgreSQL URL, if any.
fn pg_user(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "postgres" | "postgresql")
        .then(|| parsed.username().to_owned())
        .filter(|u| !u.is_empty())
}

fn check_db_url(name: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://")
    {
        Ok(())
    } else {
        // Never echo the value: it may contain a password.
        Err(ConfigError::new(
            name,
            "expected a sqlite:… or postgres://… URL",
        ))
    }
}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (tests pass a map).
    ///
    /// # Errors
    /// The first variable that is missing or malformed.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let bind = get("BIND").unwrap_or_else(|| "127.0.0.1:8001".to_owned());
        if bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::new(
                "BIND",
                "expected host:port, e.g. 127.0.0.1:8001",
            ));
        }
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        check_db_url("DATABASE_URL", &database_url)?;
        let migration_database_url =
            get("MIGRATION_DATABASE_URL").unwrap_or_else(|| database_url.clone());
        check_db_url("MIGRATION_DATABASE_URL", &migration_database_url)?;
        let app_db_role = match get("APP_DB_ROLE") {
            Some(role) => Some(role.trim().to_owned()),
            None => pg_user(&database_url)
                .filter(|u| Some(u) != pg_user(&migration_database_url).as_ref()),
        };
        let run_migrations = parse_bool("RUN_MIGRATIONS", get("RUN_MIGRATIONS"), true)?;
        let db_max_connections = match get("DB_MAX_CONNECTIONS") {
            None => 10,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    ConfigError::new("DB_MAX_CONNECTIONS", "expected a number from 1 to 1000")
                })?,
        };
        let log_format = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(ConfigError::new("LOG_FORMAT", "expected json or pretty")),
        };
        let rust_log = get("RUST_LOG").unwrap_or_else(|| "info".to_owned());
        // shared-jwt reads its own variables; this service's public URL has its own default.
        let auth = AuthSettings::from_lookup(|k| {
            get(k).or_else(|| (k == "PUBLIC_URL").then(|| "http://localhost:8001".to_owned()))
        })
        .map_err(|e| ConfigError {
            variable: e.variable.to_owned(),
            message: e.problem,
        })?;
        Ok(Settings {
            bind,
            database_url: SecretString::from(database_url),
            migration_database_url: SecretString::from(migration_database_url),
            app_db_role,
            run_migrations,
            db_max_connections,
            auth,
            log_format,
            rust_log,
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
        assert_eq!(s.bind, "127.0.0.1:8001");
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
        assert!(err.to_string().starts_with("BIND:"));
        let err = Settings::from_lookup(lookup(&[("RUN_MIGRATIONS", "maybe")])).unwrap_err();
        assert_eq!(err.variable, "RUN_MIGRATIONS");
    }
}
