//! auth-service's `next` rule (`RedirectPolicy::parse`, which makes every `SafeRedirect`) on
//! arbitrary input, with and without `COOKIE_DOMAIN`: it never panics, and what it accepts is
//! a path with a single leading slash or an http(s) URL on an allowed host, with no control
//! character, backslash or user info.
#![no_main]

use std::sync::LazyLock;

use auth_service::Settings;
use auth_service::web::redirect::RedirectPolicy;
use libfuzzer_sys::fuzz_target;

static POLICIES: LazyLock<[RedirectPolicy; 2]> = LazyLock::new(|| {
    let mut settings = Settings::from_lookup(|_| None).expect("the defaults are valid");
    let development = RedirectPolicy::from_settings(&settings);
    settings.cookie_domain = Some("example.test".into());
    settings.public_url = "https://auth.example.test/".parse().expect("a URL");
    [development, RedirectPolicy::from_settings(&settings)]
});

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for policy in POLICIES.iter() {
        let Some(next) = policy.parse(raw) else {
            continue;
        };
        let s = next.as_str();
        assert!(!s.chars().any(|c| c.is_control() || c == '\\'), "{s:?}");
        if s.starts_with('/') {
            assert!(!s.starts_with("//"), "{s:?}");
        } else {
            let url = url_parts(s);
            assert!(matches!(url.0.as_str(), "http" | "https"), "{s:?}");
            assert!(!url.1.contains('@'), "{s:?}");
        }
    }
});

/// (lowercase scheme, authority) of an absolute URL.
fn url_parts(s: &str) -> (String, String) {
    let (scheme, rest) = s.split_once("://").unwrap_or(("", s));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    (scheme.to_ascii_lowercase(), authority.to_owned())
}
