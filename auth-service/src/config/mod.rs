//! Typed settings, read once at start-up from the environment (or any lookup
//! function, for tests). A missing or malformed value fails with one line naming the
//! variable; secrets live in `SecretString` and are never printed.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use service_kit::{ServiceDefaults, ServiceSettings};
use shared_jwt::config::{TokenSettings, Vars};
use url::Url;

use crate::mail::MailSettings;
use crate::request::client_ip::IpNet;

mod throttle;
pub use throttle::ThrottleSettings;
mod rate_limits;
pub use rate_limits::{Limit, Rate, RateLimitSettings};

pub use service_kit::LogFormat;
/// A setting that is missing or malformed (shared-jwt's, the one shape in the workspace).
pub use shared_jwt::ConfigError;
/// Signing algorithm of access tokens (`JWT_ALGORITHM`).
pub use shared_jwt::keys::Algorithm as JwtAlgorithm;

/// Every setting of auth-service. Fields are public so tests can tweak them.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `DATABASE_URL`; default `sqlite://{DATA_DIR}/auth.db?mode=rwc`. May hold a password.
    pub database_url: SecretString,
    /// `BIND`; default `127.0.0.1:8000` (port 0 in tests).
    pub bind: SocketAddr,
    /// `PUBLIC_URL`: this service's external base URL; default `http://localhost:8000`.
    pub public_url: Url,
    /// `COOKIE_DOMAIN`: parent domain of the access cookie; `None` = host-only.
    pub cookie_domain: Option<String>,
    /// `COOKIE_SECURE`; default `true` when `PUBLIC_URL` is https.
    pub cookie_secure: bool,
    /// `ALLOWED_REDIRECT_ORIGINS`: extra origins `next` may point to (ASCII serialisation).
    pub allowed_redirect_origins: Vec<String>,
    /// `CORS_ALLOWED_ORIGINS`: origins besides `PUBLIC_URL`'s that may call the JSON API
    /// with the cookie (credentialed CORS, cookie-authenticated writes); default none.
    pub cors_allowed_origins: Vec<String>,
    /// `JWT_ALGORITHM`; default EdDSA.
    pub jwt_algorithm: JwtAlgorithm,
    /// `JWT_PRIVATE_KEY_FILE`; default `{DATA_DIR}/jwt-signing-key.pem`. When the file exists
    /// it is imported into the database once (`infra::keys::store::import_file`).
    pub jwt_private_key_file: PathBuf,
    /// `JWT_SECRET` (HS512 only, at least 64 bytes).
    pub jwt_secret: Option<SecretString>,
    /// Signing keys in the database (`infra::keys`): `KEY_ENCRYPTION_KEY`, 32 bytes in
    /// base64 (checked here), the AEAD key of the private keys at rest. Unset on SQLite:
    /// generated once under `DATA_DIR`; unset on PostgreSQL: start-up fails.
    pub key_encryption_key: Option<SecretString>,
    /// `JWKS_MAX_AGE`: the JWKS `Cache-Control: max-age`; default 5 minutes.
    pub jwks_max_age: Duration,
    /// `KEY_ROTATION_INTERVAL`: automatic rotation period; default 30 days.
    pub key_rotation_interval: Duration,
    /// `KEY_ACTIVATION_MARGIN`: a new key signs `JWKS_MAX_AGE` + this after it was
    /// published; default 1 minute (tests shorten it).
    pub key_activation_margin: Duration,
    /// `KEY_RELOAD_INTERVAL`: how often a replica rereads the keys from the database;
    /// default 5 seconds.
    pub key_reload_interval: Duration,
    /// `JWT_ISSUER`; default `PUBLIC_URL` without a trailing slash.
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE`; default `COOKIE_DOMAIN` or `localhost`.
    pub jwt_audience: String,
    /// `ACCESS_TOKEN_TTL`; default 5 minutes.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL`: absolute lifetime of a sign-in; default 7 days.
    pub refresh_token_ttl: Duration,
    /// `REFRESH_REUSE_GRACE`: how long a rotated refresh token still yields its successor.
    pub refresh_reuse_grace: Duration,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed (IPs or CIDRs).
    pub trusted_proxies: Vec<IpNet>,
    /// `DATA_DIR`: where the SQLite file and the development key-encryption key live.
    pub data_dir: PathBuf,
    /// `SESSION_SECRET`: key of the CSRF cookie and the refresh-successor HMAC (at least
    /// 32 bytes); default a secret derived from the JWT signing key (see `keys`).
    pub session_secret: Option<SecretString>,
    /// `REQUEST_TIMEOUT`; default 30 s.
    pub request_timeout: Duration,
    /// `DB_MAX_CONNECTIONS`: pool size; default 10.
    pub db_max_connections: u32,
    /// `MAX_CONCURRENT_HASHES`; default the number of cores.
    pub max_concurrent_hashes: usize,
    /// How long a request waits for a hashing slot before answering 503.
    pub hash_queue_timeout: Duration,
    /// `HASH_THREAD_NICE`: the hashing threads' nice value (0–19; Linux, per thread), so that
    /// other processes' short requests on the same cores run first; default 10.
    pub hash_thread_nice: i32,
    /// `LOG_FORMAT`; default pretty.
    pub log_format: LogFormat,
    /// `RUST_LOG`: the tracing filter; default `info`.
    pub rust_log: String,
    /// `AUDIT_RETENTION`: audit events older than this are pruned; default 90 days.
    pub audit_retention: Duration,
    /// `METRICS_BIND`: `/metrics` on its own listener instead of `BIND`; default unset.
    pub metrics_bind: Option<std::net::SocketAddr>,
    /// Password-guessing limits (`THROTTLE_*`).
    pub throttle: ThrottleSettings,
    /// Per-address rate limits (`RATE_LIMIT_*`).
    pub rate_limits: RateLimitSettings,
    /// Outgoing mail (`SMTP_URL`, `MAIL_FROM`); without `SMTP_URL`, `{DATA_DIR}/outbox/`.
    pub mail: MailSettings,
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `get` (empty values count as unset), in the workspace's
    /// one grammar (shared-jwt's `Vars`); the variables shared with the token's verifiers
    /// are read by shared-jwt's `TokenSettings`, the common ones by service-kit.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first missing or malformed variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(&get);
        let data_dir = PathBuf::from(vars.get("DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let common = ServiceSettings::read(
            &vars,
            &ServiceDefaults {
                bind: "127.0.0.1:8000",
                database_url: format!("sqlite://{}/auth.db?mode=rwc", data_dir.display()),
            },
        )?;
        let public_url = vars.base_url("PUBLIC_URL", "http://localhost:8000")?;
        // auth-service issues the tokens: the issuer defaults to its own URL.
        let token = TokenSettings::read(&vars, &public_url, &public_url)?;
        let allowed_redirect_origins = list(&vars, "ALLOWED_REDIRECT_ORIGINS", |s| {
            shared_jwt::config::parse_base_url(s).map(|u| u.origin().ascii_serialization())
        })?;
        let cors_allowed_origins = list(&vars, "CORS_ALLOWED_ORIGINS", parse_origin)?;
        let jwt_private_key_file = vars
            .get("JWT_PRIVATE_KEY_FILE")
            .map_or_else(|| data_dir.join("jwt-signing-key.pem"), PathBuf::from);
        let trusted_proxies = list(&vars, "TRUSTED_PROXIES", |s| s.parse::<IpNet>())?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let max_concurrent_hashes =
            vars.parse("MAX_CONCURRENT_HASHES", &cores.to_string(), |v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| "expected a positive integer".to_owned())
            })?;
        let hash_thread_nice = vars.parse("HASH_THREAD_NICE", "10", |v| {
            v.parse::<i32>()
                .ok()
                .filter(|n| (0..=19).contains(n))
                .ok_or_else(|| "expected a whole number from 0 to 19".to_owned())
        })?;

        let mail = MailSettings::parse(
            vars.secret("SMTP_URL", 1)?.as_ref(),
            vars.get("MAIL_FROM").as_deref(),
            &public_url,
            data_dir.join("outbox"),
        )
        .map_err(|(name, why)| ConfigError::new(name, why))?;

        let key_encryption_key = vars.secret("KEY_ENCRYPTION_KEY", 1)?;
        if let Some(kek) = &key_encryption_key {
            crate::infra::keys::kek::decode(kek)
                .map_err(|why| ConfigError::new("KEY_ENCRYPTION_KEY", why))?;
        } else if token.algorithm != JwtAlgorithm::HS512
            && !common.database_url.expose_secret().starts_with("sqlite:")
        {
            return Err(ConfigError::new(
                "KEY_ENCRYPTION_KEY",
                crate::infra::keys::kek::REQUIRED,
            ));
        }
        let jwks_max_age = vars.duration("JWKS_MAX_AGE", "5m")?;
        let key_rotation_interval = vars.lifetime("KEY_ROTATION_INTERVAL", "30d")?;
        let key_activation_margin = vars.duration("KEY_ACTIVATION_MARGIN", "1m")?;
        let key_reload_interval = vars.lifetime("KEY_RELOAD_INTERVAL", "5s")?;

        Ok(Self {
            database_url: common.database_url,
            bind: common.bind,
            public_url,
            cookie_domain: token.cookie_domain,
            cookie_secure: token.cookie_secure,
            allowed_redirect_origins,
            cors_allowed_origins,
            jwt_algorithm: token.algorithm,
            jwt_private_key_file,
            jwt_secret: token.jwt_secret,
            key_encryption_key,
            jwks_max_age,
            key_rotation_interval,
            key_activation_margin,
            key_reload_interval,
            jwt_issuer: token.issuer,
            jwt_audience: token.audience,
            access_token_ttl: token.access_ttl,
            refresh_token_ttl: token.refresh_ttl,
            refresh_reuse_grace: vars.lifetime("REFRESH_REUSE_GRACE", "10s")?,
            trusted_proxies,
            data_dir,
            session_secret: vars.secret("SESSION_SECRET", 32)?,
            request_timeout: common.request_timeout,
            db_max_connections: common.db_max_connections,
            max_concurrent_hashes,
            hash_queue_timeout: Duration::from_secs(5),
            hash_thread_nice,
            log_format: common.log_format,
            rust_log: common.rust_log,
            metrics_bind: common.metrics_bind,
            audit_retention: vars.lifetime("AUDIT_RETENTION", "90d")?,
            throttle: ThrottleSettings::read(&vars)?,
            rate_limits: RateLimitSettings::read(&vars)?,
            mail,
        })
    }

    /// The origin (`scheme://host[:port]`) of `PUBLIC_URL`.
    #[must_use]
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// The client address to use when the request carries no socket address (in-process tests).
    #[must_use]
    pub fn fallback_ip() -> IpAddr {
        IpAddr::from([127, 0, 0, 1])
    }
}

/// An origin exactly: `scheme://host[:port]` of an http(s) URL, no path.
fn parse_origin(text: &str) -> Result<String, String> {
    let url = shared_jwt::config::parse_base_url(text)?;
    if url.path() != "/" {
        return Err("expected origins such as https://app.example.com (no path)".to_owned());
    }
    Ok(url.origin().ascii_serialization())
}

/// A comma-separated list (empty items ignored), each item parsed by `parse`.
fn list<T, E: std::fmt::Display>(
    vars: &Vars<'_>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, ConfigError> {
    vars.parse(name, "", |list| {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| parse(s).map_err(|e| e.to_string()))
            .collect()
    })
}

#[cfg(test)]
mod tests;
