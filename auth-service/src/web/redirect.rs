//! `next`: the one place that decides where a browser may be sent after sign-in,
//! sign-up, sign-out and refresh. Parse, don't validate: a [`SafeRedirect`] can only be
//! built by [`RedirectPolicy::parse`], and anything doubtful falls back.
//!
//! Accepted: a path starting with a single `/`; or an absolute `http(s)` URL without
//! user information whose host is `COOKIE_DOMAIN` or a subdomain of it, whose origin is
//! this service's own or listed in `ALLOWED_REDIRECT_ORIGINS`. Without `COOKIE_DOMAIN`
//! (development) the host of `PUBLIC_URL` on any port also counts, because the host-only
//! cookies reach every port of that host (e.g. expense-service on `localhost:8001`).
//! Backslashes, whitespace, control and non-ASCII characters are refused outright;
//! after one round of percent-decoding, control characters, backslashes and `//` too.

use url::Url;

use crate::config::Settings;

/// A redirect target that passed the policy. Display/`as_str` give the Location value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeRedirect(String);

impl SafeRedirect {
    /// The site root, the fallback for anything refused.
    #[must_use]
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// The sign-in page (the fallback after sign-out).
    #[must_use]
    pub fn login() -> Self {
        Self("/login".to_owned())
    }

    /// The value for a `Location` header or a hidden form field.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SafeRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rule's inputs, built once from [`Settings`].
#[derive(Clone, Debug)]
pub struct RedirectPolicy {
    own_origin: String,
    cookie_domain: Option<String>,
    dev_host: Option<String>,
    allowed_origins: Vec<String>,
}

const MAX_LEN: usize = 2048;

impl RedirectPolicy {
    /// Builds the policy from the settings.
    #[must_use]
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            own_origin: settings.public_origin(),
            cookie_domain: settings.cookie_domain.clone(),
            dev_host: match settings.cookie_domain {
                Some(_) => None,
                None => settings.public_url.host_str().map(str::to_ascii_lowercase),
            },
            allowed_origins: settings.allowed_redirect_origins.clone(),
        }
    }

    /// `raw` when it is a safe target, else `None`.
    #[must_use]
    pub fn parse(&self, raw: &str) -> Option<SafeRedirect> {
        if raw.is_empty() || raw.len() > MAX_LEN || !plain_ascii(raw) {
            return None;
        }
        let decoded = percent_decode(raw)?;
        if decoded.chars().any(|c| c.is_control() || c == '\\') {
            return None;
        }
        if raw.starts_with('/') {
            // A single slash: `//host` and (after decoding) `/%2Fhost` are other hosts.
            if raw.starts_with("//") || decoded.starts_with("//") {
                return None;
            }
            // Resolve against our origin and insist we stayed there.
            let base = Url::parse(&self.own_origin).ok()?;
            let url = base.join(raw).ok()?;
            if url.origin() != base.origin() {
                return None;
            }
            return Some(SafeRedirect(raw.to_owned()));
        }
        let lower = raw.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return None;
        }
        let authority = raw.split_once("://").map_or("", |(_, rest)| rest);
        let authority = authority.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let url = Url::parse(raw).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        let host = match url.host()? {
            url::Host::Domain(d) => d.to_ascii_lowercase(),
            // IP literals only via an explicitly allowed origin or our own.
            _ => String::new(),
        };
        let origin = url.origin().ascii_serialization();
        let allowed = origin == self.own_origin
            || self.allowed_origins.contains(&origin)
            || (!host.is_empty() && self.host_allowed(&host));
        allowed.then(|| SafeRedirect(url.to_string()))
    }

    /// `raw` when safe, else `/`.
    #[must_use]
    pub fn parse_or_root(&self, raw: Option<&str>) -> SafeRedirect {
        raw.and_then(|r| self.parse(r))
            .unwrap_or_else(SafeRedirect::root)
    }

    fn host_allowed(&self, host: &str) -> bool {
        match (&self.cookie_domain, &self.dev_host) {
            (Some(domain), _) => {
                host == domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1)
            }
            (None, Some(dev)) => host == dev,
            (None, None) => false,
        }
    }

    /// The tenant slug named by a `next` host of the form `slug.COOKIE_DOMAIN`.
    #[must_use]
    pub fn tenant_hint(&self, next: &SafeRedirect) -> Option<String> {
        let domain = self.cookie_domain.as_deref()?;
        let url = Url::parse(next.as_str()).ok()?;
        let host = url.host_str()?.to_ascii_lowercase();
        let label = host.strip_suffix(domain)?.strip_suffix('.')?;
        (!label.is_empty() && !label.contains('.')).then(|| label.to_owned())
    }
}

/// Printable ASCII without spaces or backslashes.
fn plain_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// One round of percent-decoding; `None` for malformed escapes or non-UTF-8 results.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RedirectPolicy {
        let mut s = Settings::from_lookup(|k| match k {
            "PUBLIC_URL" => Some("https://auth.example.com".to_owned()),
            "COOKIE_DOMAIN" => Some("example.com".to_owned()),
            "ALLOWED_REDIRECT_ORIGINS" => Some("https://partner.test:8443".to_owned()),
            _ => None,
        })
        .unwrap();
        s.allowed_redirect_origins
            .push("http://127.0.0.1:9000".to_owned());
        RedirectPolicy::from_settings(&s)
    }

    /// Hostile inputs: every one must be refused.
    pub(crate) const HOSTILE: &[&str] = &[
        "https://evil.test/",
        "http://evil.test",
        "//evil.test",
        "//evil.test/path",
        "///evil.test",
        "/\\evil.test",
        "\\\\evil.test",
        "\\/evil.test",
        "https:evil.test",
        "https:/evil.test",
        "http:example.com",
        "https://example.com@evil.test/",
        "https://user:pw@example.com/",
        "https://example.com:pw@evil.test",
        "https://evil.test#@example.com",
        "https://evil.test?@example.com",
        "https://evil.test\\@example.com",
        "https://example.com.evil.test/",
        "https://evilexample.com/",
        "https://example.com.",
        "https://xexample.com",
        "https://example.co",
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://example.com/",
        "/%2Fevil.test",
        "/%2f%2fevil.test",
        "%2F%2Fevil.test",
        "/%5Cevil.test",
        "/\tevil",
        "/\r\nSet-Cookie:x=1",
        "/%0d%0aSet-Cookie:x=1",
        "/%00",
        "/ path",
        " /path",
        "https://example.com\u{0}.evil.test",
        "https://ex\u{e4}mple.com/",
        "/caf\u{e9}",
        "evil.test",
        "",
        "https://partner.test/",
        "https://partner.test:9443/",
        "http://partner.test:8443/",
        "http://127.0.0.1/",
        "https://[::1]/",
        "https://sub.evil.test/?x=example.com",
        "/%zz",
        "mailto:a@example.com",
    ];

    #[test]
    fn hostile_inputs_fall_back_to_root() {
        let p = policy();
        assert!(HOSTILE.len() >= 40);
        for raw in HOSTILE {
            assert_eq!(p.parse(raw), None, "accepted hostile next {raw:?}");
            assert_eq!(p.parse_or_root(Some(raw)).as_str(), "/");
        }
    }

    #[test]
    fn good_inputs_are_kept() {
        let p = policy();
        let good = [
            ("/", "/"),
            ("/account", "/account"),
            ("/expenses/42?tab=open#top", "/expenses/42?tab=open#top"),
            ("/a%20b", "/a%20b"),
            ("/caf%C3%A9", "/caf%C3%A9"),
            ("https://example.com/", "https://example.com/"),
            (
                "https://expenses.example.com/",
                "https://expenses.example.com/",
            ),
            (
                "https://acme.expenses.example.com/x?y=1",
                "https://acme.expenses.example.com/x?y=1",
            ),
            (
                "http://EXPENSES.example.com/",
                "http://expenses.example.com/",
            ),
            (
                "https://auth.example.com/login",
                "https://auth.example.com/login",
            ),
            (
                "https://partner.test:8443/cb",
                "https://partner.test:8443/cb",
            ),
            ("http://127.0.0.1:9000/back", "http://127.0.0.1:9000/back"),
        ];
        for (raw, expected) in good {
            assert_eq!(
                p.parse(raw).map(|r| r.0),
                Some(expected.to_owned()),
                "refused {raw:?}"
            );
        }
    }

    #[test]
    fn development_accepts_other_ports_of_the_public_host_only() {
        let s = Settings::from_lookup(|_| None).unwrap();
        let p = RedirectPolicy::from_settings(&s);
        assert!(p.parse("http://localhost:8001/").is_some());
        assert!(p.parse("http://localhost.evil.test/").is_none());
        assert!(p.parse("http://sub.localhost/").is_none());
    }

    #[test]
    fn tenant_hint_comes_from_the_next_host() {
        let p = policy();
        let next = p.parse("https://acme.example.com/x").unwrap();
        assert_eq!(p.tenant_hint(&next).as_deref(), Some("acme"));
        assert_eq!(p.tenant_hint(&SafeRedirect::root()), None);
    }
}
