//! The access and refresh cookies: names, attributes, the matching removal cookies, and
//! reading them straight from the `Cookie` header.
//!
//! No cookie middleware is needed: reading here does not depend on tower-cookies'
//! `CookieManagerLayer` (whose extractor answers 500 when the layer is missing).

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::COOKIE;

/// The access cookie's name outside HTTPS.
pub const ACCESS_COOKIE: &str = "access_token";
/// The access cookie's name with `Secure` (the prefix makes browsers require `Secure`).
pub const SECURE_ACCESS_COOKIE: &str = "__Secure-access_token";
/// The refresh cookie's name outside HTTPS.
pub const REFRESH_COOKIE: &str = "refresh_token";
/// The refresh cookie's name with `Secure` (`__Host-`: Secure, Path=/, and never a Domain).
pub const SECURE_REFRESH_COOKIE: &str = "__Host-refresh_token";

/// How many cookies of the same name are tried (a sibling subdomain may plant a bogus one).
pub(crate) const MAX_SAME_NAME: usize = 3;

/// The cookie attributes of the contract.
#[derive(Clone, Debug)]
pub struct CookieSettings {
    /// `Secure` and the `__Secure-`/`__Host-` name prefixes.
    pub secure: bool,
    /// `Domain` of the access cookie (`COOKIE_DOMAIN`); `None` = host-only.
    pub domain: Option<String>,
    /// `Max-Age` of the access cookie.
    pub access_ttl: Duration,
    /// `Max-Age` of the refresh cookie.
    pub refresh_ttl: Duration,
}

impl CookieSettings {
    /// `__Secure-access_token` when secure, else `access_token`.
    pub fn access_name(&self) -> &'static str {
        if self.secure {
            SECURE_ACCESS_COOKIE
        } else {
            ACCESS_COOKIE
        }
    }

    /// `__Host-refresh_token` when secure, else `refresh_token`.
    pub fn refresh_name(&self) -> &'static str {
        if self.secure {
            SECURE_REFRESH_COOKIE
        } else {
            REFRESH_COOKIE
        }
    }

    /// The access cookie: `Domain` (when set), `Path=/`, `HttpOnly`, `SameSite=Lax`,
    /// `Secure` (when secure), `Max-Age` = access TTL.
    pub fn access_cookie(&self, token: &str) -> Cookie<'static> {
        let mut c = self.base(self.access_name(), token.to_owned(), self.domain.clone());
        c.set_max_age(max_age(self.access_ttl));
        c
    }

    /// Deletes the access cookie: same name, `Domain` and `Path`, empty, `Max-Age=0`.
    pub fn remove_access_cookie(&self) -> Cookie<'static> {
        let mut c = self.base(self.access_name(), String::new(), self.domain.clone());
        c.make_removal();
        c
    }

    /// The refresh cookie: host-only (never `Domain`), `Path=/`, `HttpOnly`, `SameSite=Lax`,
    /// `Secure` (when secure), `Max-Age` = refresh TTL.
    pub fn refresh_cookie(&self, token: &str) -> Cookie<'static> {
        let mut c = self.base(self.refresh_name(), token.to_owned(), None);
        c.set_max_age(max_age(self.refresh_ttl));
        c
    }

    /// Deletes the refresh cookie (host-only, `Path=/`, empty, `Max-Age=0`).
    pub fn remove_refresh_cookie(&self) -> Cookie<'static> {
        let mut c = self.base(self.refresh_name(), String::new(), None);
        c.make_removal();
        c
    }

    /// The access token from the `Cookie` header(s), if any (the first non-empty one).
    pub fn read_access(&self, headers: &HeaderMap) -> Option<String> {
        read_cookie(headers, self.access_name()).into_iter().next()
    }

    /// The refresh token from the `Cookie` header(s), if any (the first non-empty one).
    pub fn read_refresh(&self, headers: &HeaderMap) -> Option<String> {
        read_cookie(headers, self.refresh_name()).into_iter().next()
    }

    /// Every non-empty value of the access cookie (at most 3), in header order.
    pub fn read_access_all(&self, headers: &HeaderMap) -> Vec<String> {
        read_cookie(headers, self.access_name())
    }

    fn base(&self, name: &'static str, value: String, domain: Option<String>) -> Cookie<'static> {
        let mut c = Cookie::new(name, value);
        if let Some(domain) = domain {
            c.set_domain(domain);
        }
        c.set_path("/");
        c.set_http_only(true);
        c.set_same_site(SameSite::Lax);
        c.set_secure(self.secure);
        c
    }
}

fn max_age(ttl: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

/// Values of cookie `name` in the request's `Cookie` headers (RFC 6265 §5.4 form:
/// `a=1; b=2`), without middleware. Quoted values lose their quotes. At most 3.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Vec<String> {
    cookie_values(headers, name).map(str::to_owned).collect()
}

/// Borrowed, non-empty values of cookie `name`, in header order, at most 3 (no allocation).
pub(crate) fn cookie_values<'h>(
    headers: &'h HeaderMap,
    name: &'h str,
) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(COOKIE)
        .into_iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter_map(move |pair| {
            let (n, v) = pair.split_once('=')?;
            if n.trim() != name {
                return None;
            }
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (!v.is_empty()).then_some(v)
        })
        .take(MAX_SAME_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn reads_cookies_from_several_headers_without_middleware() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; access_token=\"tok1\""),
        );
        h.append(
            COOKIE,
            HeaderValue::from_static("access_token=; access_token=tok2;refresh_token=r"),
        );
        let s = CookieSettings {
            secure: false,
            domain: None,
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(60),
        };
        assert_eq!(s.read_access(&h).as_deref(), Some("tok1"));
        assert_eq!(s.read_access_all(&h), vec!["tok1", "tok2"]);
        assert_eq!(s.read_refresh(&h).as_deref(), Some("r"));
        let secure = CookieSettings { secure: true, ..s };
        assert_eq!(
            secure.read_access(&h),
            None,
            "the unprefixed name is not read when secure"
        );
        assert_eq!(read_cookie(&HeaderMap::new(), "a"), Vec::<String>::new());
    }
}
