//! Which browser origins may call the JSON API with credentials: single-page apps on
//! `COOKIE_DOMAIN` or a subdomain of it (https, or http too when cookies are not
//! `Secure`), and the origins listed in `ALLOWED_REDIRECT_ORIGINS`. The same rule feeds
//! the CORS layer (credentials allowed, the request's origin echoed — never `*`) and the
//! CSRF origin check of cookie-authenticated requests.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};
use url::Url;

use crate::config::Settings;

/// The allowed-origin rule.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    own: String,
    cookie_domain: Option<String>,
    allow_http: bool,
    extra: Vec<String>,
}

impl OriginPolicy {
    /// From the service's settings.
    #[must_use]
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            own: s.public_origin(),
            cookie_domain: s.cookie_domain.clone(),
            allow_http: !s.cookie_secure,
            extra: s.allowed_redirect_origins.clone(),
        }
    }

    /// This service's own origin.
    #[must_use]
    pub fn own_origin(&self) -> &str {
        &self.own
    }

    /// Whether a browser at `origin` (`scheme://host[:port]`) may call with credentials.
    #[must_use]
    pub fn allows(&self, origin: &str) -> bool {
        if origin.eq_ignore_ascii_case(&self.own)
            || self.extra.iter().any(|o| o.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        let Some(domain) = &self.cookie_domain else {
            return false;
        };
        let Ok(url) = Url::parse(origin) else {
            return false;
        };
        let scheme_ok = url.scheme() == "https" || (self.allow_http && url.scheme() == "http");
        // An Origin header is exactly scheme://host[:port]; anything more is not one.
        let shape_ok = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && !origin.ends_with('/');
        let host_ok = url.host_str().is_some_and(|h| {
            h == domain.as_str()
                || h.strip_suffix(domain.as_str())
                    .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1)
        });
        scheme_ok && shape_ok && host_ok
    }

    /// The origins to pass to [`shared_jwt::check_origin`] for a request from `origin`:
    /// that origin itself when the rule allows it, else only the configured extras.
    #[must_use]
    pub fn allowed_for(&self, origin: Option<&str>) -> Vec<String> {
        match origin {
            Some(o) if self.allows(o) => vec![o.to_owned()],
            _ => self.extra.clone(),
        }
    }
}

/// The CORS layer of the API routes: preflight answered, credentials allowed only for
/// origins the policy accepts (the layer echoes the origin; it never sends `*`).
pub fn layer(policy: OriginPolicy) -> CorsLayer {
    let for_credentials = policy.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, _parts: &http::request::Parts| {
                origin.to_str().is_ok_and(|o| policy.allows(o))
            },
        ))
        // Only alongside an allowed origin, so other origins get no CORS header at all.
        .allow_credentials(AllowCredentials::predicate(
            move |origin: &HeaderValue, _parts: &http::request::Parts| {
                origin.to_str().is_ok_and(|o| for_credentials.allows(o))
            },
        ))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-requested-with"),
        ])
        .max_age(Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(domain: Option<&str>, secure: bool) -> OriginPolicy {
        OriginPolicy {
            own: "https://auth.example.test".to_owned(),
            cookie_domain: domain.map(str::to_owned),
            allow_http: !secure,
            extra: vec!["https://partner.test".to_owned()],
        }
    }

    #[test]
    fn subdomains_of_the_cookie_domain_and_listed_origins_are_allowed() {
        let p = policy(Some("example.test"), true);
        for ok in [
            "https://example.test",
            "https://app.example.test",
            "https://a.b.example.test:8443",
            "https://partner.test",
            "https://auth.example.test",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in [
            "http://app.example.test",
            "https://evilexample.test",
            "https://example.test.evil",
            "https://.example.test",
            "null",
            "https://app.example.test/",
            "https://user@app.example.test",
            "https://other.test",
        ] {
            assert!(!p.allows(bad), "{bad}");
        }
        assert!(policy(Some("example.test"), false).allows("http://app.example.test"));
        assert!(!policy(None, false).allows("http://app.example.test"));
    }
}
