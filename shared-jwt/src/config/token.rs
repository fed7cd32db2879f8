//! [`TokenSettings`]: the contract's variables that the token's issuer (auth-service) and its
//! verifiers must read identically — `COOKIE_DOMAIN`, `COOKIE_SECURE`, `JWT_ALGORITHM`,
//! `JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, `ACCESS_TOKEN_TTL`, `REFRESH_TOKEN_TTL`.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::vars::{ConfigError, Vars};
use crate::cookies::CookieSettings;
use crate::keys::{Algorithm, MIN_HS512_SECRET_LEN};

/// The token and cookie settings both sides of the cookie share.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    /// `COOKIE_DOMAIN`, lowercase, without a leading dot; `None` = host-only cookies.
    pub cookie_domain: Option<String>,
    /// `COOKIE_SECURE`; default `true` when `PUBLIC_URL` is https.
    pub cookie_secure: bool,
    /// `JWT_ALGORITHM`; default `EdDSA`.
    pub algorithm: Algorithm,
    /// `JWT_SECRET` (at least 64 bytes; required for HS512).
    pub jwt_secret: Option<SecretString>,
    /// `JWT_ISSUER`; default auth-service's base URL without a trailing slash.
    pub issuer: String,
    /// `JWT_AUDIENCE`; default `COOKIE_DOMAIN`, else `localhost`.
    pub audience: String,
    /// `ACCESS_TOKEN_TTL` (default `5m`, longer than zero).
    pub access_ttl: Duration,
    /// `REFRESH_TOKEN_TTL` (default `7d`, longer than zero).
    pub refresh_ttl: Duration,
}

impl TokenSettings {
    /// Reads the variables; `public_url` is this service's (for the `COOKIE_SECURE`
    /// default), `auth_url` auth-service's (for the `JWT_ISSUER` default).
    ///
    /// # Errors
    /// The first malformed variable.
    pub fn read(vars: &Vars<'_>, public_url: &Url, auth_url: &Url) -> Result<Self, ConfigError> {
        let cookie_domain = vars.cookie_domain()?;
        let cookie_secure = vars.bool("COOKIE_SECURE", public_url.scheme() == "https")?;
        let algorithm = vars.parse("JWT_ALGORITHM", "EdDSA", |v| {
            v.parse::<Algorithm>()
                .map_err(|_| "expected EdDSA, ES256 or HS512".to_owned())
        })?;
        let jwt_secret = vars.secret("JWT_SECRET", MIN_HS512_SECRET_LEN)?;
        if algorithm == Algorithm::HS512 && jwt_secret.is_none() {
            return Err(ConfigError::new(
                "JWT_SECRET",
                "is required when JWT_ALGORITHM=HS512",
            ));
        }
        let issuer = vars
            .get("JWT_ISSUER")
            .unwrap_or_else(|| auth_url.as_str().trim_end_matches('/').to_owned());
        let audience = vars
            .get("JWT_AUDIENCE")
            .or_else(|| cookie_domain.clone())
            .unwrap_or_else(|| "localhost".to_owned());
        Ok(Self {
            cookie_domain,
            cookie_secure,
            algorithm,
            jwt_secret,
            issuer,
            audience,
            access_ttl: vars.lifetime("ACCESS_TOKEN_TTL", "5m")?,
            refresh_ttl: vars.lifetime("REFRESH_TOKEN_TTL", "7d")?,
        })
    }

    /// The cookie names and attributes these settings give.
    #[must_use]
    pub fn cookies(&self) -> CookieSettings {
        CookieSettings {
            secure: self.cookie_secure,
            domain: self.cookie_domain.clone(),
            access_ttl: self.access_ttl,
            refresh_ttl: self.refresh_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<TokenSettings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let get = move |k: &str| map.get(k).cloned();
        let public = Url::parse("https://expenses.example.com").expect("literal URL");
        let auth = Url::parse("https://auth.example.com/").expect("literal URL");
        TokenSettings::read(&Vars::new(&get), &public, &auth)
    }

    #[test]
    fn cookie_secure_takes_the_one_boolean_grammar() {
        for (text, secure) in [("on", true), ("OFF", false), ("yes", true), ("0", false)] {
            assert_eq!(
                read(&[("COOKIE_SECURE", text)]).unwrap().cookie_secure,
                secure
            );
        }
        assert!(read(&[]).unwrap().cookie_secure, "https PUBLIC_URL");
        assert_eq!(
            read(&[("COOKIE_SECURE", "perhaps")]).unwrap_err().variable,
            "COOKIE_SECURE"
        );
    }

    #[test]
    fn ttls_refuse_zero_and_take_sums() {
        for zero in ["0", "0s", "0m 0s"] {
            assert_eq!(
                read(&[("ACCESS_TOKEN_TTL", zero)]).unwrap_err().variable,
                "ACCESS_TOKEN_TTL"
            );
            assert_eq!(
                read(&[("REFRESH_TOKEN_TTL", zero)]).unwrap_err().variable,
                "REFRESH_TOKEN_TTL"
            );
        }
        let s = read(&[
            ("ACCESS_TOKEN_TTL", "1h 30m"),
            ("REFRESH_TOKEN_TTL", "1w 2d"),
        ])
        .unwrap();
        assert_eq!(s.access_ttl, Duration::from_secs(5_400));
        assert_eq!(s.refresh_ttl, Duration::from_secs(9 * 86_400));
        assert_eq!(s.issuer, "https://auth.example.com");
    }

    #[test]
    fn a_short_jwt_secret_is_refused_whatever_the_algorithm() {
        let short = "short-but-secret-value";
        let err = read(&[("JWT_SECRET", short)]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        assert!(!err.to_string().contains(short));
        assert_eq!(
            read(&[("JWT_ALGORITHM", "HS512")]).unwrap_err().variable,
            "JWT_SECRET"
        );
    }
}
