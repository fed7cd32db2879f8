//! [`AuthSettings`]: everything a sibling service needs to verify tokens, read once from the
//! environment (or any lookup function, for tests). A missing or malformed value gives a
//! [`ConfigError`] whose `Display` is one line naming the variable and never a secret.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::cookies::CookieSettings;
use crate::keys::{Algorithm, KeyError, KeySet, MIN_HS512_SECRET_LEN, SigningKey, VerifyingKey};
use crate::verifier::{DEFAULT_CACHE_CAPACITY, KeySource, MAX_LEEWAY, VerifierConfig};

/// The contract's default `AUTH_URL`.
pub const DEFAULT_AUTH_URL: &str = "http://localhost:8000";
/// The default `PUBLIC_URL` of [`AuthSettings::from_env`]: the contract's sibling service
/// (expense-service). Other services pass theirs to [`AuthSettings::from_lookup_with`].
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8001";
/// The minimum `CSRF_SECRET` length in bytes.
pub const MIN_CSRF_SECRET_LEN: usize = 32;

/// A configuration variable that is missing or malformed. One line; never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable, e.g. `JWT_SECRET`.
    pub variable: &'static str,
    /// What is wrong with it (without the value when the value is secret).
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// The settings of a service that verifies access tokens (see the contract's configuration
/// table): `AUTH_URL`, `PUBLIC_URL`, `COOKIE_DOMAIN`, `COOKIE_SECURE`, `JWT_ALGORITHM`,
/// `JWT_SECRET`, `JWKS_URL`, `JWT_PUBLIC_KEY_FILE`, `JWT_ISSUER`, `JWT_AUDIENCE`,
/// `ACCESS_TOKEN_TTL`, `REFRESH_TOKEN_TTL`, `TENANT_FROM_HOST`, `CSRF_SECRET`, and this crate's
/// `JWT_LEEWAY` (default `30s`, at most `60s`).
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// auth-service's external base URL.
    pub auth_url: Url,
    /// This service's external base URL (login redirects come back here).
    pub public_url: Url,
    /// Cookie names and attributes.
    pub cookies: CookieSettings,
    /// What the verifier requires.
    pub verifier: VerifierConfig,
    /// Where verifying keys come from.
    pub key_source: KeySource,
    /// The service is served at `{tenant_slug}.COOKIE_DOMAIN`.
    pub tenant_from_host: bool,
    /// `COOKIE_DOMAIN`, lowercase, without a leading dot.
    pub cookie_domain: Option<String>,
    /// `CSRF_SECRET` (at least 32 bytes); a random per-process key when unset.
    pub csrf_secret: Option<SecretString>,
}

impl AuthSettings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (`None` = unset; an empty value counts as unset).
    ///
    /// # Errors
    /// The first missing or malformed variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_with(get, DEFAULT_PUBLIC_URL)
    }

    /// [`AuthSettings::from_lookup`] with this service's default `PUBLIC_URL`.
    ///
    /// # Errors
    /// The first missing or malformed variable.
    pub fn from_lookup_with(
        get: impl Fn(&str) -> Option<String>,
        default_public_url: &str,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let auth_url = base_url(
            "AUTH_URL",
            get("AUTH_URL").as_deref().unwrap_or(DEFAULT_AUTH_URL),
        )?;
        let public_url = base_url(
            "PUBLIC_URL",
            get("PUBLIC_URL").as_deref().unwrap_or(default_public_url),
        )?;
        let cookie_domain = get("COOKIE_DOMAIN").map(|d| parse_domain(&d)).transpose()?;
        let secure = match get("COOKIE_SECURE") {
            Some(v) => parse_bool("COOKIE_SECURE", &v)?,
            None => public_url.scheme() == "https",
        };
        let access_ttl = duration_var(&get, "ACCESS_TOKEN_TTL", "5m")?;
        let refresh_ttl = duration_var(&get, "REFRESH_TOKEN_TTL", "7d")?;
        let leeway = duration_var(&get, "JWT_LEEWAY", "30s")?;
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::new("JWT_LEEWAY", "must be at most 60s"));
        }
        let algorithm: Algorithm = match get("JWT_ALGORITHM") {
            Some(v) => v.parse().map_err(|_| {
                ConfigError::new(
                    "JWT_ALGORITHM",
                    format!("{v:?} is not EdDSA, ES256 or HS512"),
                )
            })?,
            None => Algorithm::EdDSA,
        };
        let issuer =
            get("JWT_ISSUER").unwrap_or_else(|| auth_url.as_str().trim_end_matches('/').to_owned());
        let audience = get("JWT_AUDIENCE")
            .or_else(|| cookie_domain.clone())
            .unwrap_or_else(|| "localhost".to_owned());
        let key_source = key_source(&get, algorithm, &auth_url)?;
        let tenant_from_host = match get("TENANT_FROM_HOST") {
            Some(v) => parse_bool("TENANT_FROM_HOST", &v)?,
            None => false,
        };
        if tenant_from_host && cookie_domain.is_none() {
            return Err(ConfigError::new(
                "TENANT_FROM_HOST",
                "needs COOKIE_DOMAIN to be set",
            ));
        }
        let csrf_secret = get("CSRF_SECRET").map(SecretString::from);
        if let Some(secret) = &csrf_secret
            && secret.expose_secret().len() < MIN_CSRF_SECRET_LEN
        {
            return Err(ConfigError::new(
                "CSRF_SECRET",
                format!("must be at least {MIN_CSRF_SECRET_LEN} bytes long"),
            ));
        }
        Ok(Self {
            auth_url,
            public_url,
            cookies: CookieSettings {
                secure,
                domain: cookie_domain.clone(),
                access_ttl,
                refresh_ttl,
            },
            verifier: VerifierConfig {
                algorithm,
                issuer,
                audience,
                leeway,
                cache_capacity: DEFAULT_CACHE_CAPACITY,
            },
            key_source,
            tenant_from_host,
            cookie_domain,
            csrf_secret,
        })
    }
}

fn key_source(
    get: &impl Fn(&str) -> Option<String>,
    algorithm: Algorithm,
    auth_url: &Url,
) -> Result<KeySource, ConfigError> {
    if algorithm == Algorithm::HS512 {
        let secret = get("JWT_SECRET").ok_or_else(|| {
            ConfigError::new("JWT_SECRET", "is required when JWT_ALGORITHM=HS512")
        })?;
        let key = SigningKey::from_hs512_secret(secret.as_bytes()).map_err(|_| {
            ConfigError::new(
                "JWT_SECRET",
                format!("must be at least {MIN_HS512_SECRET_LEN} bytes long"),
            )
        })?;
        return Ok(KeySource::Static(
            [key.verifying_key()].into_iter().collect(),
        ));
    }
    if let Some(path) = get("JWT_PUBLIC_KEY_FILE") {
        let pem = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(
                "JWT_PUBLIC_KEY_FILE",
                format!("cannot read {path}: {}", e.kind()),
            )
        })?;
        let keys = public_keys_from_pem(&pem, algorithm)
            .map_err(|e| ConfigError::new("JWT_PUBLIC_KEY_FILE", format!("{path}: {e}")))?;
        return Ok(KeySource::Static(keys));
    }
    let url = match get("JWKS_URL") {
        Some(v) => Url::parse(&v)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| ConfigError::new("JWKS_URL", format!("{v:?} is not an http(s) URL")))?,
        None => {
            let base = auth_url.as_str().trim_end_matches('/');
            Url::parse(&format!("{base}/.well-known/jwks.json"))
                .map_err(|_| ConfigError::new("AUTH_URL", "cannot derive the JWKS URL"))?
        }
    };
    Ok(KeySource::Jwks {
        url,
        http_timeout: Duration::from_secs(5),
    })
}

/// Every `PUBLIC KEY` block of a PEM file (several during a rotation).
///
/// # Errors
/// [`KeyError`] when a block is not a key of `alg` or there is no block.
pub fn public_keys_from_pem(pem: &str, alg: Algorithm) -> Result<KeySet, KeyError> {
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    let mut set = KeySet::new();
    for block in pem.split(BEGIN).skip(1) {
        set.insert(VerifyingKey::from_public_pem(
            &format!("{BEGIN}{block}"),
            alg,
        )?);
    }
    if set.is_empty() {
        return Err(KeyError::InvalidPem(alg, "no PUBLIC KEY block"));
    }
    Ok(set)
}

fn base_url(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value)
        .map_err(|_| ConfigError::new(variable, format!("{value:?} is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.has_host()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ConfigError::new(
            variable,
            format!("{value:?} must be an http(s) base URL without query, fragment or user"),
        ));
    }
    Ok(url)
}

/// `COOKIE_DOMAIN` as both sides of the cookie must read it: a bare lowercase DNS name
/// (a leading dot is dropped, as browsers do); `None` when it is not one. auth-service sets
/// the cookie with it and siblings check tenant hosts against it, so they share this rule.
#[must_use]
pub fn parse_cookie_domain(value: &str) -> Option<String> {
    let domain = value.trim_start_matches('.').to_ascii_lowercase();
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    ok.then_some(domain)
}

fn parse_domain(value: &str) -> Result<String, ConfigError> {
    parse_cookie_domain(value)
        .ok_or_else(|| ConfigError::new("COOKIE_DOMAIN", format!("{value:?} is not a domain name")))
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(
            variable,
            format!("{value:?} is not true or false"),
        )),
    }
}

fn duration_var(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let value = get(variable).unwrap_or_else(|| default.to_owned());
    parse_duration(&value).ok_or_else(|| {
        ConfigError::new(
            variable,
            format!("{value:?} is not a duration like 30s, 5m, 12h or 7d"),
        )
    })
}

/// Parses `90`, `30s`, `5m`, `12h`, `7d`, `2w` and sums like `1h30m` (seconds when no unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if number.is_some() {
        return None;
    }
    Some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        for bad in ["", "m", "5x", "5m3", "-5m", "5 m", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn domains_and_bools() {
        assert_eq!(parse_domain(".Example.COM").unwrap(), "example.com");
        for bad in ["", "http://example.com", "exa mple.com", "-a.com", "a..com"] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        assert!(parse_bool("X", "TRUE").unwrap());
        assert!(!parse_bool("X", "0").unwrap());
        assert!(parse_bool("X", "maybe").is_err());
    }
}
