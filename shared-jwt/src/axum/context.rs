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
