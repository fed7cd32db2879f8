//! [`AuthContext`]: the verifier, cookie settings and URLs the layer and extractors use.

use url::Url;

use crate::config::AuthSettings;
use crate::cookies::CookieSettings;
use crate::csrf::Csrf;
use crate::keys::KeyError;
use crate::verifier::{JwksOptions, KeySource, Verifier};

/// Everything the auth layer needs. Build it once at start-up ([`AuthContext::from_settings`])
/// and hand it to [`crate::AuthLayer::new`]; keep a clone in the app state for the CSRF helper
/// and the cookie settings.
#[derive(Clone, Debug)]
pub struct AuthContext {
    /// Verifies tokens.
    pub verifier: Verifier,
    /// Cookie names and attributes.
    pub cookies: CookieSettings,
    /// auth-service's external base URL (login redirects go to `{auth_url}/login`).
    pub auth_url: Url,
    /// This service's external base URL (the `next` of login redirects).
    pub public_url: Url,
    /// With `TENANT_FROM_HOST`: `COOKIE_DOMAIN`, whose subdomains name tenants.
    pub tenant_host_domain: Option<String>,
    /// Session-bound CSRF form tokens.
    pub csrf: Csrf,
}

impl AuthContext {
    /// Builds the verifier from the settings' key source (fetching the JWKS now if that is the
    /// source) and the CSRF key from `CSRF_SECRET` (random when unset).
    ///
    /// # Errors
    /// [`KeyError`] when the keys are unusable or the JWKS cannot be fetched.
    pub async fn from_settings(s: AuthSettings) -> Result<Self, KeyError> {
        let verifier = match s.key_source {
            KeySource::Static(keys) => Verifier::new(s.verifier, keys)?,
            KeySource::Jwks { url, http_timeout } => {
                let options = JwksOptions {
                    http_timeout,
                    ..JwksOptions::default()
                };
                Verifier::from_jwks_url_with(s.verifier, url, options).await?
            }
        };
        let csrf = match &s.csrf_secret {
            Some(secret) => Csrf::new(secrecy::ExposeSecret::expose_secret(secret).as_bytes()),
            None => Csrf::random(),
        };
        Ok(Self {
            verifier,
            cookies: s.cookies,
            auth_url: s.auth_url,
            public_url: s.public_url,
            tenant_host_domain: s.tenant_from_host.then_some(s.cookie_domain).flatten(),
            csrf,
        })
    }

    /// `{AUTH_URL}/login?next={PUBLIC_URL}{path_and_query}`, `next` URL-encoded.
    pub fn login_url(&self, path_and_query: &str) -> String {
        self.login_url_for(None, path_and_query)
    }

    /// [`AuthContext::login_url`] for a request on the tenant host of `tenant` (when
    /// `TENANT_FROM_HOST` is on): `next` uses `{scheme}://{tenant}.{COOKIE_DOMAIN}[:port]`,
    /// with `PUBLIC_URL`'s scheme and port.
    pub fn login_url_for(&self, tenant: Option<&str>, path_and_query: &str) -> String {
        let base = self.public_base(tenant);
        let path_and_query = if path_and_query.starts_with('/') {
            path_and_query
        } else {
            "/"
        };
        let next = format!("{base}{path_and_query}");
        let mut url = self.auth_url.as_str().trim_end_matches('/').to_owned();
        url.push_str("/login?next=");
        url.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
        url
    }

    /// The origin (`scheme://host[:port]`) requests to this service come from.
    pub fn origin_for(&self, tenant: Option<&str>) -> String {
        match (tenant, &self.tenant_host_domain) {
            (Some(slug), Some(domain)) => self.tenant_origin(slug, domain),
            _ => self.public_url.origin().ascii_serialization(),
        }
    }

    /// `PUBLIC_URL` without its trailing slash, or the tenant host's origin plus
    /// `PUBLIC_URL`'s path.
    fn public_base(&self, tenant: Option<&str>) -> String {
        let path = self.public_url.path().trim_end_matches('/');
        format!("{}{path}", self.origin_for(tenant))
    }

    fn tenant_origin(&self, slug: &str, domain: &str) -> String {
        let scheme = self.public_url.scheme();
        match self.public_url.port() {
            Some(port) => format!("{scheme}://{slug}.{domain}:{port}"),
            None => format!("{scheme}://{slug}.{domain}"),
        }
    }

    /// With `TENANT_FROM_HOST`: the tenant slug named by `host` when it is exactly one valid
    /// label below `COOKIE_DOMAIN` (port ignored, case-insensitive); otherwise `None`.
    pub fn tenant_from_host(&self, host: Option<&str>) -> Option<String> {
        let domain = self.tenant_host_domain.as_deref()?;
        let host = host?.trim_end_matches('.');
        // Strip a port; IPv6 literals are never tenant hosts.
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        let host = host.to_ascii_lowercase();
        let slug = host.strip_suffix(domain)?.strip_suffix('.')?;
        let valid = !slug.is_empty()
            && slug.len() <= 63
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-')
            && !slug.ends_with('-');
        valid.then(|| slug.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, SigningKey};
    use crate::verifier::VerifierConfig;
    use std::time::Duration;

    fn ctx(public_url: &str, tenant_domain: Option<&str>) -> AuthContext {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        AuthContext {
            verifier: Verifier::new(
                VerifierConfig::new(Algorithm::EdDSA, "i", "a"),
                [key.verifying_key()].into_iter().collect(),
            )
            .unwrap(),
            cookies: CookieSettings {
                secure: true,
                domain: None,
                access_ttl: Duration::from_secs(1),
                refresh_ttl: Duration::from_secs(1),
            },
            auth_url: Url::parse("https://auth.example.com/sso/").unwrap(),
            public_url: Url::parse(public_url).unwrap(),
            tenant_host_domain: tenant_domain.map(str::to_owned),
            csrf: Csrf::random(),
        }
    }

    #[test]
    fn tenant_slugs_come_only_from_one_valid_label_below_the_domain() {
        let c = ctx("https://example.com", Some("example.com"));
        let slug = |h: &str| c.tenant_from_host(Some(h));
        assert_eq!(slug("acme.example.com").as_deref(), Some("acme"));
        assert_eq!(slug("ACME.example.com:8443").as_deref(), Some("acme"));
        assert_eq!(slug("acme.example.com.").as_deref(), Some("acme"));
        for bad in [
            "example.com",
            "a.b.example.com",
            "acmeexample.com",
            "acme.example.org",
            "-a.example.com",
            "a_b.example.com",
            "[::1]:80",
            "acme.example.com:x",
            "",
        ] {
            assert_eq!(slug(bad), None, "{bad}");
        }
        assert_eq!(
            ctx("https://example.com", None).tenant_from_host(Some("acme.example.com")),
            None
        );
    }

    #[test]
    fn login_urls_keep_the_auth_base_path_and_encode_next() {
        let c = ctx("http://localhost:8001/app/", Some("example.com"));
        assert_eq!(
            c.login_url("/x?a=1&b=é"),
            "https://auth.example.com/sso/login?next=http%3A%2F%2Flocalhost%3A8001%2Fapp%2Fx%3Fa%3D1%26b%3D%C3%A9"
        );
        assert_eq!(
            c.login_url_for(Some("acme"), "/"),
            "https://auth.example.com/sso/login?next=http%3A%2F%2Facme.example.com%3A8001%2Fapp%2F"
        );
        assert_eq!(c.login_url("not-a-path"), c.login_url("/"));
        assert_eq!(c.origin_for(None), "http://localhost:8001");
        assert_eq!(c.origin_for(Some("acme")), "http://acme.example.com:8001");
    }
}
