//! Which browser origins may call the JSON API with credentials: this service's own
//! (`PUBLIC_URL`'s) and those listed in `CORS_ALLOWED_ORIGINS`, compared exactly —
//! origins, not subdomains: a sibling under `COOKIE_DOMAIN` is not trusted for being one
//! (an XSS there must not be able to use the API with the user's cookie), and
//! `ALLOWED_REDIRECT_ORIGINS` (where `next` may go) grants nothing here. The same rule
//! feeds the CORS layer (credentials allowed, the request's origin echoed — never `*`) and
//! the CSRF origin check of cookie-authenticated requests ([`super::auth`]).

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

use crate::config::Settings;

/// The allowed-origin rule.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    own: String,
    listed: Vec<String>,
}

impl OriginPolicy {
    /// From the service's settings.
    #[must_use]
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            own: s.public_origin(),
            listed: s.cors_allowed_origins.clone(),
        }
    }

    /// This service's own origin.
    #[must_use]
    pub fn own_origin(&self) -> &str {
        &self.own
    }

    /// The origins of `CORS_ALLOWED_ORIGINS`.
    #[must_use]
    pub fn listed(&self) -> &[String] {
        &self.listed
    }

    /// Whether a browser at `origin` (`scheme://host[:port]`) may call with credentials.
    #[must_use]
    pub fn allows(&self, origin: &str) -> bool {
        origin.eq_ignore_ascii_case(&self.own)
            || self.listed.iter().any(|o| o.eq_ignore_ascii_case(origin))
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

    #[test]
    fn only_the_own_and_listed_origins_are_allowed() {
        let p = OriginPolicy {
            own: "https://auth.example.test".to_owned(),
            listed: vec![
                "https://app.example.test".to_owned(),
                "https://partner.test".to_owned(),
            ],
        };
        for ok in [
            "https://auth.example.test",
            "https://app.example.test",
            "https://APP.example.test",
            "https://partner.test",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in [
            "https://example.test",
            "https://other.example.test",
            "https://a.app.example.test",
            "http://app.example.test",
            "https://app.example.test:8443",
            "https://app.example.test/",
            "https://partner.test.evil",
            "null",
            "",
        ] {
            assert!(!p.allows(bad), "{bad}");
        }
    }
}
