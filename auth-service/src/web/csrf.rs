//! CSRF protection of every form, sign-in included, without a session: a pre-session
//! cookie holds a random id signed with the session secret (HttpOnly, SameSite=Lax,
//! host-only, `__Host-` prefixed when secure), and each form carries
//! `HMAC(secret, "csrf-form", id)`. A POST must present both, matching. Independently,
//! the request must pass the workspace's one Origin rule, [`shared_jwt::check_origin`]
//! with this service's own origin only: `Sec-Fetch-Site: cross-site`, another or a
//! `null` `Origin`, and `same-site` without an `Origin` are refused.

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretSlice};

use crate::infra::crypto::{b64url, ct_eq, hmac_sha256, random_token};

/// The message of a failed CSRF check, on every page.
pub const CSRF_FAILED: &str =
    "This form expired or was sent from another site. Please check the fields and submit it again.";

/// Reads one cookie by name from the `Cookie` header(s).
#[must_use]
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// The pre-session of one browser: its id, and the cookie to set when it is new.
#[derive(Debug)]
pub struct PreSession {
    /// The form token for this browser.
    pub form_token: String,
    /// `Some` when the browser had no valid cookie: set it on the response.
    pub new_cookie: Option<Cookie<'static>>,
}

/// Issues and checks CSRF tokens.
#[derive(Clone)]
pub struct CsrfGuard {
    key: SecretSlice<u8>,
    secure: bool,
    own_origin: String,
}

impl std::fmt::Debug for CsrfGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfGuard")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

/// Why an unsafe request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfFailure {
    /// The request came from another site (Origin / Sec-Fetch-Site).
    CrossSite,
    /// The form token or the pre-session cookie is missing or wrong.
    BadToken,
}

impl CsrfGuard {
    /// A guard keyed from the session secret.
    #[must_use]
    pub fn new(session_secret: &[u8], secure: bool, own_origin: String) -> Self {
        let key = hmac_sha256(session_secret, &[b"auth-service csrf key"]);
        Self {
            key: SecretSlice::from(key.to_vec()),
            secure,
            own_origin,
        }
    }

    /// The pre-session cookie's name.
    #[must_use]
    pub fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-auth_csrf"
        } else {
            "auth_csrf"
        }
    }

    fn sign(&self, purpose: &[u8], id: &str) -> String {
        b64url(&hmac_sha256(
            self.key.expose_secret(),
            &[purpose, id.as_bytes()],
        ))
    }

    /// The id inside a valid pre-session cookie.
    fn cookie_id(&self, headers: &HeaderMap) -> Option<String> {
        let value = read_cookie(headers, self.cookie_name())?;
        let (id, sig) = value.split_once('.')?;
        (id.len() <= 64 && ct_eq(sig.as_bytes(), self.sign(b"csrf-cookie", id).as_bytes()))
            .then(|| id.to_owned())
    }

    fn cookie_for(&self, id: &str) -> Cookie<'static> {
        let mut c = Cookie::new(
            self.cookie_name(),
            format!("{id}.{}", self.sign(b"csrf-cookie", id)),
        );
        c.set_path("/");
        c.set_http_only(true);
        c.set_same_site(SameSite::Lax);
        c.set_secure(self.secure);
        c
    }

    /// The form token for this browser, creating its pre-session when needed.
    #[must_use]
    pub fn pre_session(&self, headers: &HeaderMap) -> PreSession {
        match self.cookie_id(headers) {
            Some(id) => PreSession {
                form_token: self.sign(b"csrf-form", &id),
                new_cookie: None,
            },
            None => {
                let id = random_token();
                PreSession {
                    form_token: self.sign(b"csrf-form", &id),
                    new_cookie: Some(self.cookie_for(&id)),
                }
            }
        }
    }

    /// Checks an unsafe request: same origin, and a form token matching the cookie.
    ///
    /// # Errors
    /// [`CsrfFailure`] saying which check failed.
    pub fn check(&self, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), CsrfFailure> {
        self.check_origin(headers)?;
        let id = self.cookie_id(headers).ok_or(CsrfFailure::BadToken)?;
        let token = form_token.ok_or(CsrfFailure::BadToken)?;
        if ct_eq(token.as_bytes(), self.sign(b"csrf-form", &id).as_bytes()) {
            Ok(())
        } else {
            Err(CsrfFailure::BadToken)
        }
    }

    /// Refuses what [`shared_jwt::check_origin`] refuses for this service's own origin.
    ///
    /// # Errors
    /// [`CsrfFailure::CrossSite`].
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), CsrfFailure> {
        shared_jwt::check_origin(headers, &self.own_origin, &[]).map_err(|_| CsrfFailure::CrossSite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> CsrfGuard {
        CsrfGuard::new(&[7u8; 32], false, "http://localhost:8000".to_owned())
    }

    fn with_cookie(c: &Cookie<'_>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            format!("other=1; {}={}", c.name(), c.value())
                .parse()
                .unwrap(),
        );
        h
    }

    #[test]
    fn token_matches_only_its_cookie() {
        let g = guard();
        let first = g.pre_session(&HeaderMap::new());
        let cookie = first.new_cookie.unwrap();
        let headers = with_cookie(&cookie);
        assert_eq!(g.check(&headers, Some(&first.form_token)), Ok(()));
        // The same browser keeps its token.
        let again = g.pre_session(&headers);
        assert!(again.new_cookie.is_none());
        assert_eq!(again.form_token, first.form_token);
        // Another browser's token does not fit.
        let other = g.pre_session(&HeaderMap::new());
        assert_eq!(
            g.check(&headers, Some(&other.form_token)),
            Err(CsrfFailure::BadToken)
        );
        assert_eq!(g.check(&headers, None), Err(CsrfFailure::BadToken));
        assert_eq!(
            g.check(&HeaderMap::new(), Some(&first.form_token)),
            Err(CsrfFailure::BadToken)
        );
    }

    #[test]
    fn forged_cookie_is_refused() {
        let g = guard();
        let mut h = HeaderMap::new();
        h.insert(http::header::COOKIE, "auth_csrf=abc.def".parse().unwrap());
        assert!(g.pre_session(&h).new_cookie.is_some());
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let g = guard();
        let mut h = HeaderMap::new();
        h.insert(http::header::ORIGIN, "https://evil.test".parse().unwrap());
        assert_eq!(g.check_origin(&h), Err(CsrfFailure::CrossSite));
        h.insert(http::header::ORIGIN, "null".parse().unwrap());
        assert_eq!(g.check_origin(&h), Err(CsrfFailure::CrossSite));
        h.insert(
            http::header::ORIGIN,
            "http://localhost:8000".parse().unwrap(),
        );
        assert_eq!(g.check_origin(&h), Ok(()));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert_eq!(g.check_origin(&h), Err(CsrfFailure::CrossSite));
        // A sibling subdomain (same-site) must say who it is.
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", "same-site".parse().unwrap());
        assert_eq!(g.check_origin(&h), Err(CsrfFailure::CrossSite));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert_eq!(g.check_origin(&h), Ok(()));
    }
}
