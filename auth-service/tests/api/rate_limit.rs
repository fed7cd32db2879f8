//! Per-address rate limits over HTTP: every limited route answers `429` with
//! `Retry-After` once its address's bucket is empty (the error page on pages,
//! `{"detail"}` on the API), addresses (IPv6 per /64) have their own buckets, and behind a
//! trusted proxy a malformed `X-Forwarded-For` never puts clients in the proxy's bucket.

use std::time::Duration;

use auth_service::config::{Limit, Rate};
use auth_service::{AppState, Settings};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::api::helpers::{Backend, TestApp, plain_client};
use test_support::db_tests;
use test_support::http::client_builder;

db_tests!(
    the_429_is_a_page_for_browsers_and_json_for_the_api,
    every_limited_route_is_limited,
    addresses_have_their_own_buckets,
    a_malformed_forwarded_for_never_makes_clients_share_the_proxy,
);

const HOUR: Duration = Duration::from_secs(3600);

/// Every limit at `burst` per hour; the test client (127.0.0.1) is a trusted proxy.
fn every_limit(burst: u32, behind_proxy: bool) -> impl FnOnce(&mut Settings) {
    move |s| {
        for limit in Limit::ALL {
            s.rate_limits.set(limit, Rate::new(burst, HOUR));
        }
        if behind_proxy {
            s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        }
    }
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Sends `req()` until it answers 429 (at most `burst + 3` times); the number of answers
/// before the 429, which must never be 429 or 5xx.
async fn count_until_429(req: impl Fn() -> RequestBuilder, burst: usize, what: &str) -> usize {
    for sent in 0..burst + 3 {
        let res = req().send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry_after(&res) >= 1, "{what}");
            return sent;
        }
        assert!(!res.status().is_server_error(), "{what}: {}", res.status());
    }
    panic!("{what}: never limited");
}

async fn the_429_is_a_page_for_browsers_and_json_for_the_api(b: Backend) {
    let app = TestApp::spawn_with(b, every_limit(2, false)).await;
    let client = plain_client();
    let login = || {
        client
            .post(app.url("/login"))
            .header("accept", "text/html")
            .form(&[("tenant", "acme"), ("email", "a@b.test"), ("password", "x")])
    };
    for _ in 0..2 {
        // No CSRF token: refused (403), but counted first.
        assert_eq!(
            login().send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    }
    let res = login().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // 2 per hour: the next token in at most 30 minutes.
    let secs = retry_after(&res);
    assert!((1_700..=1_800).contains(&secs), "{secs}");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.headers().contains_key("x-request-id"));
    let page = res.text().await.unwrap();
    assert!(page.contains("Too many requests"), "{page}");
    assert!(
        page.contains(&format!("try again in {secs} seconds")),
        "{page}"
    );

    // jwt/create/ shares the sign-in bucket and answers JSON.
    let res = client
        .post(app.url("/api/v1/auth/jwt/create/"))
        .json(&json!({"tenant_slug": "acme", "email": "a@b.test", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs = retry_after(&res);
    assert!((1_700..=1_800).contains(&secs), "{secs}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": format!("Request was throttled. Expected available in {secs} seconds.")})
    );

    // Pages that are not limited stay available to the address.
    let res = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Builds one request of a route.
type MakeRequest<'a> = Box<dyn Fn() -> RequestBuilder + 'a>;

/// The refresh cookie's name in this app.
fn refresh_cookie(state: &AppState) -> String {
    format!("{}=bogus-refresh-token", state.cookies.refresh_name())
}

async fn every_limited_route_is_limited(b: Backend) {
    const BURST: usize = 3;
    let app = TestApp::spawn_with(b, every_limit(3, true)).await;
    let client = plain_client();
    let cookie = refresh_cookie(&app.state);
    let api = |path: &str| app.url(&format!("/api/v1/auth/{path}"));
    // (what, request); each from its own forwarded address, so each has fresh buckets.
    let routes: Vec<(&str, MakeRequest<'_>)> = vec![
        (
            "POST /login",
            Box::new(|| client.post(app.url("/login")).form(&[("tenant", "x")])),
        ),
        (
            "POST /register",
            Box::new(|| client.post(app.url("/register")).form(&[("email", "x")])),
        ),
        (
            "GET /refresh",
            Box::new(|| client.get(app.url("/refresh")).header("cookie", &cookie)),
        ),
        (
            "GET /login + cookie",
            Box::new(|| client.get(app.url("/login")).header("cookie", &cookie)),
        ),
        (
            "GET / + cookie",
            Box::new(|| client.get(app.url("/")).header("cookie", &cookie)),
        ),
        (
            "jwt/create/",
            Box::new(|| client.post(api("jwt/create/")).json(&json!({}))),
        ),
        (
            "jwt/refresh/",
            Box::new(|| {
                client
                    .post(api("jwt/refresh/"))
                    .json(&json!({"refresh": "x"}))
            }),
        ),
        (
            "jwt/verify/",
            Box::new(|| client.post(api("jwt/verify/")).json(&json!({"token": "x"}))),
        ),
        (
            "jwt/revoke/",
            Box::new(|| {
                client
                    .post(api("jwt/revoke/"))
                    .json(&json!({"refresh": "x"}))
            }),
        ),
        (
            "users/",
            Box::new(|| client.post(api("users/")).json(&json!({}))),
        ),
        (
            "users/set_password/",
            Box::new(|| client.post(api("users/set_password/")).json(&json!({}))),
        ),
    ];
    for (i, (what, req)) in routes.iter().enumerate() {
        let from = format!("198.51.100.{}", i + 1);
        let sent = count_until_429(|| req().header("x-forwarded-for", &from), BURST, what).await;
        assert_eq!(sent, BURST, "{what}");
    }
    // Without a refresh cookie GET /login and GET /refresh do no refresh and are not limited.
    for path in ["/login", "/refresh"] {
        for _ in 0..BURST + 2 {
            let res = client
                .get(app.url(path))
                .header("x-forwarded-for", "198.51.100.3")
                .send()
                .await
                .unwrap();
            assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        }
    }
    // Unlimited routes stay open to an address whose buckets are empty.
    let res = client
        .get(api("users/me/"))
        .header("x-forwarded-for", "198.51.100.6")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn addresses_have_their_own_buckets(b: Backend) {
    let app = TestApp::spawn_with(b, every_limit(1, false)).await;
    let verify = |client: &reqwest::Client| {
        client
            .post(app.url("/api/v1/auth/jwt/verify/"))
            .json(&json!({"token": "x"}))
            .send()
    };
    // Direct peers: 127.0.0.1 and 127.0.0.2 (loopback) are two addresses.
    let one = plain_client();
    let two = client_builder()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    assert_eq!(
        verify(&one).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        verify(&one).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        verify(&two).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        verify(&two).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Behind the proxy: IPv6 per /64.
    let app = TestApp::spawn_with(b, every_limit(1, true)).await;
    let from = |addr: &'static str| {
        plain_client()
            .post(app.url("/api/v1/auth/jwt/verify/"))
            .header("x-forwarded-for", addr)
            .json(&json!({"token": "x"}))
            .send()
    };
    for (addr, status) in [
        ("2001:db8:1:2::1", StatusCode::UNAUTHORIZED),
        ("2001:db8:1:2:ffff::9", StatusCode::TOO_MANY_REQUESTS),
        ("2001:db8:1:3::1", StatusCode::UNAUTHORIZED),
        ("198.51.100.7", StatusCode::UNAUTHORIZED),
        ("::ffff:198.51.100.7", StatusCode::TOO_MANY_REQUESTS),
        ("198.51.100.8", StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(from(addr).await.unwrap().status(), status, "{addr}");
    }
}

async fn a_malformed_forwarded_for_never_makes_clients_share_the_proxy(b: Backend) {
    let app = TestApp::spawn_with(b, every_limit(2, true)).await;
    let verify = |xff: Option<&'static str>| {
        let mut req = plain_client().request(Method::POST, app.url("/api/v1/auth/jwt/verify/"));
        if let Some(v) = xff {
            req = req.header("x-forwarded-for", v);
        }
        req.json(&json!({"token": "x"})).send()
    };
    // A client writes garbage; the proxy appends the address it saw.
    for _ in 0..2 {
        let res = verify(Some("not-an-ip, , 198.51.100.7")).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Its bucket is empty (the port the proxy may add changes nothing) ...
    let res = verify(Some("198.51.100.7:4711")).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... while another client with garbage of its own, and the proxy itself, are fine.
    for xff in [Some("unknown, [2001:db8::1]:443, 203.0.113.5"), None, None] {
        let res = verify(xff).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{xff:?}");
    }
}
