//! Typed settings, read once at start-up from the environment (or any lookup
//! function, for tests). A missing or malformed value fails with one line naming the
//! variable; secrets live in `SecretString` and are never printed.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::client_ip::IpNet;

/// A setting that is missing or malformed. Display names the variable and never the value.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// Why it was refused (never contains the value of a secret).
    pub reason: String,
}

fn bad(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

/// Signing algorithm of access tokens (`JWT_ALGORITHM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// Ed25519 (the default).
    EdDSA,
    /// ECDSA P-256.
    ES256,
    /// HMAC-SHA512 with `JWT_SECRET`.
    HS512,
}

/// Log output format (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Brute-force throttle of sign-in (kept in the database, shared by instances).
#[derive(Clone, Debug)]
pub struct ThrottleSettings {
    /// Failures per (tenant, email) inside `window` before the account is locked.
    pub account_max_failures: u32,
    /// Failures per client IP inside `window` before the IP is refused.
    pub ip_max_failures: u32,
    /// The sliding window.
    pub window: Duration,
    /// The first lock; every further lock doubles it (capped at `lock_max`).
    pub lock_base: Duration,
    /// The longest lock.
    pub lock_max: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            account_max_failures: 5,
            ip_max_failures: 50,
            window: Duration::from_secs(15 * 60),
            lock_base: Duration::from_secs(15 * 60),
            lock_max: Duration::from_secs(24 * 60 * 60),
        }
    }
}

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
    /// `JWT_ALGORITHM`; default EdDSA.
    pub jwt_algorithm: JwtAlgorithm,
    /// `JWT_PRIVATE_KEY_FILE`; default `{DATA_DIR}/jwt-signing-key.pem`, generated when missing.
    pub jwt_private_key_file: PathBuf,
    /// `JWT_SECRET` (HS512 only, at least 64 bytes).
    pub jwt_secret: Option<SecretString>,
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
    /// `DATA_DIR`: where the SQLite file, the development key and the session secret live.
    pub data_dir: PathBuf,
    /// `SESSION_SECRET`: key of the CSRF cookie and the refresh-successor HMAC (at least
    /// 32 bytes); default a secret derived from the JWT signing key (see `keys`).
    pub session_secret: Option<SecretString>,
    /// `REQUEST_TIMEOUT`; default 30 s.
    pub request_timeout: Duration,
    /// `MAX_CONCURRENT_HASHES`; default the number of cores.
    pub max_concurrent_hashes: usize,
    /// How long a request waits for a hashing slot before answering 503.
    pub hash_queue_timeout: Duration,
    /// `LOG_FORMAT`; default pretty.
    pub log_format: LogFormat,
    /// Sign-in throttle.
    pub throttle: ThrottleSettings,
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `get` (empty values count as unset).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first missing or malformed variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err(bad("DATABASE_URL", "expected sqlite:… or postgres://…"));
                }
                url
            }
            None => format!("sqlite://{}/auth.db?mode=rwc", data_dir.display()),
        };
        let bind = parse_with("BIND", get("BIND"), "127.0.0.1:8000", |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| "expected host:port, e.g. 127.0.0.1:8000".to_owned())
        })?;
        let public_url = parse_with(
            "PUBLIC_URL",
            get("PUBLIC_URL"),
            "http://localhost:8000",
            parse_base_url,
        )?;
        let cookie_domain = get("COOKIE_DOMAIN")
            .map(|d| parse_cookie_domain(&d).map_err(|r| bad("COOKIE_DOMAIN", r)))
            .transpose()?;
        let https = public_url.scheme() == "https";
        let cookie_secure = match get("COOKIE_SECURE") {
            None => https,
            Some(v) => {
                parse_bool(&v).ok_or_else(|| bad("COOKIE_SECURE", "expected true or false"))?
            }
        };
        let allowed_redirect_origins = match get("ALLOWED_REDIRECT_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    parse_base_url(s)
                        .map(|u| u.origin().ascii_serialization())
                        .map_err(|r| bad("ALLOWED_REDIRECT_ORIGINS", r))
                })
                .collect::<Result<_, _>>()?,
        };
        let jwt_algorithm = match get("JWT_ALGORITHM").as_deref() {
            None | Some("EdDSA") => JwtAlgorithm::EdDSA,
            Some("ES256") => JwtAlgorithm::ES256,
            Some("HS512") => JwtAlgorithm::HS512,
            Some(_) => return Err(bad("JWT_ALGORITHM", "expected EdDSA, ES256 or HS512")),
        };
        let jwt_secret = get("JWT_SECRET");
        if jwt_secret.as_ref().is_some_and(|s| s.len() < 64) {
            return Err(bad("JWT_SECRET", "must be at least 64 bytes"));
        }
        if jwt_algorithm == JwtAlgorithm::HS512 && jwt_secret.is_none() {
            return Err(bad("JWT_SECRET", "required when JWT_ALGORITHM=HS512"));
        }
        let jwt_private_key_file = get("JWT_PRIVATE_KEY_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("jwt-signing-key.pem"));
        let jwt_issuer = get("JWT_ISSUER")
            .unwrap_or_else(|| public_url.as_str().trim_end_matches('/').to_owned());
        let jwt_audience = get("JWT_AUDIENCE")
            .or_else(|| cookie_domain.clone())
            .unwrap_or_else(|| "localhost".to_owned());
        let access_token_ttl = duration("ACCESS_TOKEN_TTL", get("ACCESS_TOKEN_TTL"), "5m")?;
        let refresh_token_ttl = duration("REFRESH_TOKEN_TTL", get("REFRESH_TOKEN_TTL"), "7d")?;
        let refresh_reuse_grace =
            duration("REFRESH_REUSE_GRACE", get("REFRESH_REUSE_GRACE"), "10s")?;
        let request_timeout = duration("REQUEST_TIMEOUT", get("REQUEST_TIMEOUT"), "30s")?;
        let trusted_proxies = match get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<IpNet>().map_err(|r| bad("TRUSTED_PROXIES", r)))
                .collect::<Result<_, _>>()?,
        };
        let session_secret = get("SESSION_SECRET");
        if session_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(bad("SESSION_SECRET", "must be at least 32 bytes"));
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let max_concurrent_hashes = match get("MAX_CONCURRENT_HASHES") {
            None => cores,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("MAX_CONCURRENT_HASHES", "expected a positive integer"))?,
        };
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(bad("LOG_FORMAT", "expected json or pretty")),
        };

        Ok(Self {
            database_url: SecretString::from(database_url),
            bind,
            public_url,
            cookie_domain,
            cookie_secure,
            allowed_redirect_origins,
            jwt_algorithm,
            jwt_private_key_file,
            jwt_secret: jwt_secret.map(SecretString::from),
            jwt_issuer,
            jwt_audience,
            access_token_ttl,
            refresh_token_ttl,
            refresh_reuse_grace,
            trusted_proxies,
            data_dir,
            session_secret: session_secret.map(SecretString::from),
            request_timeout,
            max_concurrent_hashes,
            hash_queue_timeout: Duration::from_secs(5),
            log_format,
            throttle: ThrottleSettings::default(),
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

fn parse_with<T>(
    variable: &'static str,
    value: Option<String>,
    default: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    parse(value.as_deref().unwrap_or(default)).map_err(|r| bad(variable, r))
}

fn duration(
    variable: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<Duration, ConfigError> {
    parse_with(variable, value, default, |v| {
        humantime::parse_duration(v)
            .map_err(|_| "expected a duration such as 30s, 5m or 7d".to_owned())
            .and_then(|d| {
                if d.is_zero() {
                    Err("must be longer than zero".to_owned())
                } else {
                    Ok(d)
                }
            })
    })
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn parse_base_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|_| "expected an absolute http(s) URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an absolute http(s) URL".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain user information".to_owned());
    }
    Ok(url)
}

/// A bare lowercase DNS name: shared-jwt's rule, so that the cookie's setter and its
/// verifiers agree on what `COOKIE_DOMAIN` means.
fn parse_cookie_domain(value: &str) -> Result<String, String> {
    shared_jwt::config::parse_cookie_domain(value)
        .ok_or_else(|| "expected a domain name such as example.com".to_owned())
}

#[cfg(test)]
mod tests;
