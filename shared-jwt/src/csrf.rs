//! CSRF protection for sibling services, for requests authenticated by the access *cookie*.
//!
//! Two independent defences, both needed only when the browser attaches credentials by itself:
//!
//! 1. [`check_origin`]: an unsafe request whose `Sec-Fetch-Site` is `cross-site`, or whose
//!    `Origin` is neither the service's own origin nor an allowed one, is refused. The
//!    [`crate::AuthLayer`] runs it for every unsafe cookie-authenticated request and
//!    [`crate::CurrentUser`] answers `403` ([`crate::AuthRejection::Csrf`]) when it failed.
//! 2. A form token ([`Csrf::token_for`] / [`Csrf::verify`]): an HMAC-SHA256 of the session id
//!    (`sid` claim; `sub` + tenant when there is none) under a per-service secret
//!    (`CSRF_SECRET`), put in a hidden field (or the [`CSRF_HEADER`] of a script's request) and
//!    checked by the handler ([`crate::SessionCsrf`]). It changes with every new session and
//!    needs no server-side storage.
//!
//! Requests authenticated by `Authorization: Bearer` are not CSRF-prone: a browser never adds
//! that header by itself, so neither check applies to them.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method};
use sha2::Sha256;

use crate::claims::Claims;

/// The name of the hidden form field that carries the token, by convention.
pub const CSRF_FIELD: &str = "csrf_token";

/// The request header that carries the token on a script's cookie-authenticated write
/// (`fetch` with credentials), by convention.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Issues and checks session-bound CSRF form tokens. Cheap to clone.
#[derive(Clone)]
pub struct Csrf {
    mac: Arc<Hmac<Sha256>>,
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Csrf { .. }")
    }
}

impl Csrf {
    /// Tokens keyed by `secret` (every replica of a service must share it).
    pub fn new(secret: &[u8]) -> Self {
        #[allow(clippy::expect_used)]
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
        Self { mac: Arc::new(mac) }
    }

    /// Tokens keyed by a random secret (one process; tokens die with it).
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
        Self::new(&secret)
    }

    fn compute(&self, claims: &Claims) -> hmac::digest::Output<Hmac<Sha256>> {
        let mut mac = Hmac::clone(&self.mac);
        mac.update(b"shared-jwt csrf v1\0");
        match claims.sid {
            Some(sid) => {
                mac.update(b"sid\0");
                mac.update(sid.as_bytes());
            }
            None => {
                mac.update(b"sub\0");
                mac.update(claims.sub.as_bytes());
                mac.update(claims.tenant_id.as_bytes());
            }
        }
        mac.finalize().into_bytes()
    }

    /// The form token for this session (43 URL-safe characters).
    pub fn token_for(&self, claims: &Claims) -> String {
        URL_SAFE_NO_PAD.encode(self.compute(claims))
    }

    /// Whether `token` is this session's form token (constant-time comparison).
    pub fn verify(&self, claims: &Claims, token: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        let expected = self.compute(claims);
        use subtle::ConstantTimeEq as _;
        given.len() == expected.len() && bool::from(expected[..].ct_eq(&given))
    }
}

/// Why [`check_origin`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// `Sec-Fetch-Site: cross-site`.
    #[error("cross-site request refused")]
    CrossSite,
    /// `Origin` is `null` or not an allowed origin.
    #[error("request origin not allowed")]
    OriginNotAllowed,
    /// The form token is missing or wrong.
    #[error("missing or invalid CSRF token")]
    BadToken,
}

/// Whether `method` can change state (everything but GET, HEAD, OPTIONS, TRACE).
pub fn is_unsafe_method(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// For unsafe methods: refuses `Sec-Fetch-Site: cross-site`, and an `Origin` that is `null` or
/// not `own_origin` / one of `allowed` (origins as `scheme://host[:port]`, no trailing slash).
/// A request with neither header (old browsers, scripts) passes: the form token still guards it.
/// `same-site` requests (a sibling subdomain) pass only with an allowed `Origin`.
///
/// # Errors
/// [`CsrfError::CrossSite`] or [`CsrfError::OriginNotAllowed`].
pub fn check_origin(
    headers: &HeaderMap,
    own_origin: &str,
    allowed: &[String],
) -> Result<(), CsrfError> {
    let own = own_origin.trim_end_matches('/');
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if fetch_site.as_deref() == Some("cross-site") {
        return Err(CsrfError::CrossSite);
    }
    match headers.get(http::header::ORIGIN) {
        Some(origin) => {
            let origin = origin.to_str().map_err(|_| CsrfError::OriginNotAllowed)?;
            let ok = origin != "null"
                && (origin.eq_ignore_ascii_case(own)
                    || allowed
                        .iter()
                        .any(|a| origin.eq_ignore_ascii_case(a.trim_end_matches('/'))));
            if ok {
                Ok(())
            } else {
                Err(CsrfError::OriginNotAllowed)
            }
        }
        // Without Origin, `same-site` cannot be told apart from a sibling subdomain's forgery.
        None if fetch_site.as_deref() == Some("same-site") => Err(CsrfError::OriginNotAllowed),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_rules() {
        let own = "https://expenses.example.com";
        let allowed = vec!["https://admin.example.com".to_owned()];
        let check = |p: &[(&'static str, &'static str)]| check_origin(&headers(p), own, &allowed);
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&[("origin", "https://expenses.example.com")]), Ok(()));
        assert_eq!(check(&[("origin", "https://admin.example.com")]), Ok(()));
        assert_eq!(
            check(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site")
            ]),
            Err(CsrfError::CrossSite)
        );
        assert_eq!(
            check(&[("origin", "https://evil.example")]),
            Err(CsrfError::OriginNotAllowed)
        );
        assert_eq!(
            check(&[("origin", "null")]),
            Err(CsrfError::OriginNotAllowed)
        );
        assert_eq!(
            check(&[("origin", "http://expenses.example.com")]),
            Err(CsrfError::OriginNotAllowed)
        );
        assert_eq!(
            check(&[("sec-fetch-site", "same-site")]),
            Err(CsrfError::OriginNotAllowed)
        );
        assert_eq!(check(&[("sec-fetch-site", "same-origin")]), Ok(()));
        assert!(is_unsafe_method(&Method::POST) && is_unsafe_method(&Method::DELETE));
        assert!(!is_unsafe_method(&Method::GET) && !is_unsafe_method(&Method::HEAD));
    }
}
