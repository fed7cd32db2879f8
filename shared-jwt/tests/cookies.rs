//! Cookie names and attributes exactly as `Set-Cookie` shows them, in development (plain HTTP,
//! host-only) and production (Secure, parent domain), including the removal cookies.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use shared_jwt::CookieSettings;

fn dev() -> CookieSettings {
    CookieSettings {
        secure: false,
        domain: None,
        access_ttl: Duration::from_secs(300),
        refresh_ttl: Duration::from_secs(7 * 86_400),
    }
}

fn prod() -> CookieSettings {
    CookieSettings {
        secure: true,
        domain: Some("example.com".into()),
        ..dev()
    }
}

/// `Expires=` of a removal cookie is "now minus a year": check it is there, then drop it.
fn without_expires(cookie: &str) -> String {
    let (kept, expires) = cookie
        .split_once("; Expires=")
        .expect("removal cookies carry Expires");
    assert!(expires.ends_with("GMT"), "{expires}");
    kept.to_owned()
}

#[test]
fn development_cookies_are_host_only_and_not_secure() {
    let s = dev();
    assert_eq!(s.access_name(), "access_token");
    assert_eq!(s.refresh_name(), "refresh_token");
    assert_eq!(
        s.access_cookie("a.b.c").to_string(),
        "access_token=a.b.c; HttpOnly; SameSite=Lax; Path=/; Max-Age=300"
    );
    assert_eq!(
        s.refresh_cookie("r123").to_string(),
        "refresh_token=r123; HttpOnly; SameSite=Lax; Path=/; Max-Age=604800"
    );
    assert_eq!(
        without_expires(&s.remove_access_cookie().to_string()),
        "access_token=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
    );
    assert_eq!(
        without_expires(&s.remove_refresh_cookie().to_string()),
        "refresh_token=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
    );
}

#[test]
fn secure_cookies_use_prefixes_and_the_parent_domain_for_access_only() {
    let s = prod();
    assert_eq!(s.access_name(), "__Secure-access_token");
    assert_eq!(s.refresh_name(), "__Host-refresh_token");
    assert_eq!(
        s.access_cookie("a.b.c").to_string(),
        "__Secure-access_token=a.b.c; HttpOnly; SameSite=Lax; Secure; Path=/; Domain=example.com; Max-Age=300"
    );
    // `__Host-` requires Secure, Path=/ and no Domain: the refresh cookie never leaves the auth host.
    assert_eq!(
        s.refresh_cookie("r123").to_string(),
        "__Host-refresh_token=r123; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=604800"
    );
    assert_eq!(
        without_expires(&s.remove_access_cookie().to_string()),
        "__Secure-access_token=; HttpOnly; SameSite=Lax; Secure; Path=/; Domain=example.com; Max-Age=0"
    );
    assert_eq!(
        without_expires(&s.remove_refresh_cookie().to_string()),
        "__Host-refresh_token=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
    );
}

#[test]
fn removal_cookies_repeat_the_domain_and_path_they_were_set_with() {
    for s in [
        dev(),
        prod(),
        CookieSettings {
            secure: false,
            domain: Some("corp.test".into()),
            ..dev()
        },
    ] {
        let (set, gone) = (s.access_cookie("t"), s.remove_access_cookie());
        assert_eq!(
            (set.name(), set.domain(), set.path()),
            (gone.name(), gone.domain(), gone.path())
        );
        let (set, gone) = (s.refresh_cookie("t"), s.remove_refresh_cookie());
        assert_eq!(
            (set.name(), set.domain(), set.path()),
            (gone.name(), gone.domain(), gone.path())
        );
        assert_eq!(set.domain(), None, "refresh is always host-only");
    }
}

#[test]
fn cookies_are_read_from_the_cookie_header_by_their_configured_name() {
    let mut headers = HeaderMap::new();
    headers.append(
        header::COOKIE,
        HeaderValue::from_static("access_token=dev; __Secure-access_token=prod"),
    );
    headers.append(
        header::COOKIE,
        HeaderValue::from_static("__Host-refresh_token=r"),
    );
    assert_eq!(dev().read_access(&headers).as_deref(), Some("dev"));
    assert_eq!(prod().read_access(&headers).as_deref(), Some("prod"));
    assert_eq!(prod().read_refresh(&headers).as_deref(), Some("r"));
    assert_eq!(dev().read_refresh(&headers), None);
    // What a browser would send back after the Set-Cookie of `access_cookie`.
    let set = prod().access_cookie("x.y.z");
    let mut echoed = HeaderMap::new();
    echoed.insert(
        header::COOKIE,
        HeaderValue::from_str(&format!("{}={}", set.name(), set.value())).unwrap(),
    );
    assert_eq!(prod().read_access(&echoed).as_deref(), Some("x.y.z"));
}
