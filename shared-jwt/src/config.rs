//! [`AuthSettings`]: everything a sibling service needs to verify tokens, read once from the
//! environment (or any lookup function, for tests). A missing or malformed value gives a
//! [`ConfigError`] whose `Display` is one line naming the variable and never its value.
//!
//! The grammar of every setting in the workspace lives here too ([`Vars`]: one boolean and
//! one duration grammar, base URLs, `COOKIE_DOMAIN`), and so does [`TokenSettings`], the
//! variables auth-service (which issues the cookie) and its verifiers must read alike.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::cookies::CookieSettings;
use crate::keys::{Algorithm, KeyError, KeySet, SigningKey, VerifyingKey};
use crate::verifier::{DEFAULT_CACHE_CAPACITY, KeySource, MAX_LEEWAY, VerifierConfig};

mod token;
mod vars;

pub use token::TokenSettings;
pub use vars::{
    BOOL_GRAMMAR, ConfigError, DURATION_GRAMMAR, Vars, parse_base_url, parse_bool,
    parse_cookie_domain, parse_duration,
};

/// The contract's default `AUTH_URL`.
pub const DEFAULT_AUTH_URL: &str = "http://localhost:8000";
/// The default `PUBLIC_URL` of [`AuthSettings::from_env`]: the contract's sibling service
/// (expense-service). Other services pass theirs to [`AuthSettings::from_lookup_with`].
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8001";
/// The minimum `CSRF_SECRET` length in bytes.
pub const MIN_CSRF_SECRET_LEN: usize = 32;

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
        let vars = Vars::new(&get);
        let auth_url = vars.base_url("AUTH_URL", DEFAULT_AUTH_URL)?;
        let public_url = vars.base_url("PUBLIC_URL", default_public_url)?;
        let token = TokenSettings::read(&vars, &public_url, &auth_url)?;
        let leeway = vars.duration("JWT_LEEWAY", "30s")?;
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::new("JWT_LEEWAY", "must be at most 60s"));
        }
        let key_source = key_source(&vars, &token, &auth_url)?;
        let tenant_from_host = vars.bool("TENANT_FROM_HOST", false)?;
        if tenant_from_host && token.cookie_domain.is_none() {
            return Err(ConfigError::new(
                "TENANT_FROM_HOST",
                "needs COOKIE_DOMAIN to be set",
            ));
        }
        let csrf_secret = vars.secret("CSRF_SECRET", MIN_CSRF_SECRET_LEN)?;
        Ok(Self {
            auth_url,
            public_url,
            cookies: token.cookies(),
            verifier: VerifierConfig {
                algorithm: token.algorithm,
                issuer: token.issuer,
                audience: token.audience,
                leeway,
                cache_capacity: DEFAULT_CACHE_CAPACITY,
            },
            key_source,
            tenant_from_host,
            cookie_domain: token.cookie_domain,
            csrf_secret,
        })
    }
}

fn key_source(
    vars: &Vars<'_>,
    token: &TokenSettings,
    auth_url: &Url,
) -> Result<KeySource, ConfigError> {
    let algorithm = token.algorithm;
    if algorithm == Algorithm::HS512 {
        // `TokenSettings::read` required a long enough `JWT_SECRET` for HS512.
        let secret = token.jwt_secret.as_ref().ok_or_else(|| {
            ConfigError::new("JWT_SECRET", "is required when JWT_ALGORITHM=HS512")
        })?;
        let key = SigningKey::from_hs512_secret(secret.expose_secret().as_bytes())
            .map_err(|_| ConfigError::new("JWT_SECRET", "is not a usable HS512 secret"))?;
        return Ok(KeySource::Static(
            [key.verifying_key()].into_iter().collect(),
        ));
    }
    if let Some(path) = vars.get("JWT_PUBLIC_KEY_FILE") {
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
    let url = vars.parse("JWKS_URL", "", |v| {
        if v.is_empty() {
            let base = auth_url.as_str().trim_end_matches('/');
            return Url::parse(&format!("{base}/.well-known/jwks.json"))
                .map_err(|_| "cannot be derived from AUTH_URL".to_owned());
        }
        Url::parse(v)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| "expected an http(s) URL".to_owned())
    })?;
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
