//! `next` on every endpoint that takes it: hostile values end on `/` (`/login` after
//! sign-out, the contract's fallback there), good ones are honoured.

use crate::api::helpers::{
    Backend, PASSWORD, TestApp, csrf_from, find_cookie, location, plain_client,
};
use test_support::db_tests;

db_tests!(
    every_hostile_next_ends_on_the_fallback_on_every_endpoint,
    good_next_values_are_honoured_on_every_endpoint,
);

const HOSTILE: &[&str] = &[
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
    "https://example.com./",
    "https://xexample.com",
    "https://example.co",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "javascript://example.com/%0aalert(1)",
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
    "http://127.0.0.1:1/",
    "https://[::1]/",
    "mailto:a@example.com",
];

const GOOD: &[&str] = &[
    "/",
    "/account",
    "/expenses/42?tab=open#top",
    "/a%20b",
    "https://example.com/",
    "https://expenses.example.com/",
    "https://acme.expenses.example.com/x?y=1",
    "http://expenses.example.com/",
    "http://auth.example.com/",
    "https://partner.test:8443/cb",
];

async fn app(b: Backend) -> TestApp {
    let app = TestApp::spawn_with(b, |s| {
        s.public_url = "http://auth.example.com".parse().unwrap();
        s.cookie_domain = Some("example.com".into());
        s.allowed_redirect_origins = vec!["https://partner.test:8443".into()];
        // Many sign-ins from one address: this tests `next`, not the rate limits.
        crate::api::helpers::raise_rate_limits(s);
    })
    .await;
    app.acme().await;
    app
}

/// Where each endpoint sends the browser for `next`, in order: POST /login,
/// GET /login (refresh), GET /refresh, POST /register, POST /logout.
async fn destinations(app: &TestApp, next: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let res = app.login("acme", "ada@acme.test", PASSWORD, next).await;
    assert_eq!(res.status(), 303, "{next:?}");
    out.push(location(&res));
    let refresh = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let res = plain_client()
        .get(app.url("/login"))
        .query(&[("next", next)])
        .header("cookie", format!("refresh_token={refresh}"))
        .send()
        .await
        .unwrap();
    out.push(location(&res));
    let refresh = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let res = plain_client()
        .get(app.url("/refresh"))
        .query(&[("next", next)])
        .header("cookie", format!("refresh_token={refresh}"))
        .send()
        .await
        .unwrap();
    out.push(location(&res));
    let res = app
        .register(&format!("hostile{n}@x.test"), "", "Hostile Test", next)
        .await;
    assert_eq!(res.status(), 303, "{next:?}");
    out.push(location(&res));
    let token = app.csrf_token("/logout").await;
    let res = app
        .post_form("/logout", &[("csrf_token", &token), ("next", next)])
        .await;
    out.push(location(&res));
    out
}

async fn every_hostile_next_ends_on_the_fallback_on_every_endpoint(b: Backend) {
    assert!(HOSTILE.len() >= 40);
    let app = app(b).await;
    for (n, next) in HOSTILE.iter().enumerate() {
        let got = destinations(&app, next, n).await;
        assert_eq!(got, vec!["/", "/", "/", "/", "/login"], "next = {next:?}");
        // The forms never carry it either.
        for form in ["/login", "/register", "/logout"] {
            let res = app
                .client
                .get(app.url(form))
                .query(&[("next", next)])
                .send()
                .await
                .unwrap();
            let body = res.text().await.unwrap();
            assert!(!body.contains("evil"), "{form} {next:?}");
            let _ = csrf_from(&body);
        }
        // Without a refresh cookie, /refresh goes to the plain form.
        let res = plain_client()
            .get(app.url("/refresh"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&res), "/login", "{next:?}");
    }
}

async fn good_next_values_are_honoured_on_every_endpoint(b: Backend) {
    let app = app(b).await;
    for (n, next) in GOOD.iter().enumerate() {
        let got = destinations(&app, next, n).await;
        assert_eq!(got, vec![*next; 5], "next = {next:?}");
    }
}
