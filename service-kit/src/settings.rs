//! The settings every service reads the same way: `BIND`, `DATABASE_URL`,
//! `DB_MAX_CONNECTIONS`, `REQUEST_TIMEOUT`, `LOG_FORMAT`, `RUST_LOG` and `METRICS_BIND`, in shared-jwt's one
//! grammar ([`Vars`]). Each service gives its own defaults ([`ServiceDefaults`]).

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use shared_jwt::config::{ConfigError, Vars};
use tracing_subscriber::EnvFilter;

/// Log output format (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, the event's fields at the top level.
    Json,
}

/// A service's defaults for the common settings.
#[derive(Clone, Debug)]
pub struct ServiceDefaults {
    /// `BIND`, e.g. `127.0.0.1:8000`.
    pub bind: &'static str,
    /// `DATABASE_URL`, e.g. `sqlite://data/auth.db?mode=rwc`.
    pub database_url: String,
}

/// The common settings, parsed.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    /// `BIND`: the listen address (port 0 picks a free one).
    pub bind: SocketAddr,
    /// `DATABASE_URL` (may hold a password).
    pub database_url: SecretString,
    /// `DB_MAX_CONNECTIONS`: pool size, 1 to 1000; default 10.
    pub db_max_connections: u32,
    /// `REQUEST_TIMEOUT`: answered `408` after; default 30 s.
    pub request_timeout: Duration,
    /// `LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `RUST_LOG`: the tracing filter; default `info`.
    pub rust_log: String,
    /// `METRICS_BIND`: serve `/metrics` on this address instead of on `BIND`; default unset.
    pub metrics_bind: Option<SocketAddr>,
}

impl ServiceSettings {
    /// Reads the common settings.
    ///
    /// # Errors
    /// The first malformed variable (never its value).
    pub fn read(vars: &Vars<'_>, defaults: &ServiceDefaults) -> Result<Self, ConfigError> {
        let bind = vars.parse("BIND", defaults.bind, |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| format!("expected host:port, e.g. {}", defaults.bind))
        })?;
        let database_url = database_url(vars, "DATABASE_URL", &defaults.database_url)?;
        let db_max_connections = vars.parse("DB_MAX_CONNECTIONS", "10", |v| {
            v.parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| "expected a number from 1 to 1000".to_owned())
        })?;
        let request_timeout = vars.lifetime("REQUEST_TIMEOUT", "30s")?;
        let log_format = vars.parse("LOG_FORMAT", "pretty", |v| match v {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected json or pretty".to_owned()),
        })?;
        let rust_log = vars.parse("RUST_LOG", "info", |v| {
            EnvFilter::try_new(v)
                .map(|_| v.to_owned())
                .map_err(|_| "expected a tracing filter such as info or warn,sqlx=error".to_owned())
        })?;
        let metrics_bind = match vars.get("METRICS_BIND") {
            None => None,
            Some(_) => Some(vars.parse("METRICS_BIND", "", |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| "expected host:port, e.g. 0.0.0.0:9100".to_owned())
            })?),
        };
        Ok(Self {
            bind,
            metrics_bind,
            database_url: SecretString::from(database_url),
            db_max_connections,
            request_timeout,
            log_format,
            rust_log,
        })
    }
}

/// A database URL variable: `sqlite:…` or `postgres(ql)://…`, `default` when unset.
///
/// # Errors
/// Any other scheme (the message never repeats the URL: it may hold a password).
pub fn database_url(
    vars: &Vars<'_>,
    name: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    vars.parse(name, default, |url| {
        if url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://")
        {
            Ok(url.to_owned())
        } else {
            Err("expected a sqlite:… or postgres://… URL".to_owned())
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret as _;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<ServiceSettings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let get = move |k: &str| map.get(k).cloned();
        let defaults = ServiceDefaults {
            bind: "127.0.0.1:8001",
            database_url: "sqlite://data/x.db?mode=rwc".to_owned(),
        };
        ServiceSettings::read(&Vars::new(&get), &defaults)
    }

    #[test]
    fn defaults() {
        let s = read(&[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8001");
        assert_eq!(
            s.database_url.expose_secret(),
            "sqlite://data/x.db?mode=rwc"
        );
        assert_eq!(s.db_max_connections, 10);
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.rust_log, "info");
        assert_eq!(s.metrics_bind, None);
        let s = read(&[("METRICS_BIND", "127.0.0.1:9100")]).unwrap();
        assert_eq!(s.metrics_bind.unwrap().to_string(), "127.0.0.1:9100");
    }

    #[test]
    fn values_and_errors() {
        let s = read(&[
            ("REQUEST_TIMEOUT", "1m 30s"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "warn,sqlx=error"),
            ("DB_MAX_CONNECTIONS", "3"),
        ])
        .unwrap();
        assert_eq!(s.request_timeout, Duration::from_secs(90));
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.db_max_connections, 3);
        for (name, value) in [
            ("BIND", "nope"),
            ("DATABASE_URL", "mysql://root:hunter2@db/x"),
            ("DB_MAX_CONNECTIONS", "2000"),
            ("REQUEST_TIMEOUT", "0"),
            ("LOG_FORMAT", "xml"),
            ("RUST_LOG", "sqlx=loud"),
            ("METRICS_BIND", "everywhere"),
        ] {
            let err = read(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, name);
            assert!(!err.to_string().contains(value), "{err}");
        }
    }
}
