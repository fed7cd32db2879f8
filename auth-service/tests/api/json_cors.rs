//! CORS of the JSON API: credentials only for origins under `COOKIE_DOMAIN` or in
//! `ALLOWED_REDIRECT_ORIGINS`, the origin echoed (never `*`), preflight answered; the
//! HTML pages get no CORS headers.

use reqwest::{Method, StatusCode};

use crate::api::helpers::{Backend, TestApp, plain_client};
use test_support::db_tests;

db_tests!(
    sibling_subdomains_and_listed_origins_may_call_with_credentials,
    a_sibling_spa_may_patch_with_the_cookie_and_other_sites_may_not,
);

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    plain_client()
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn sibling_subdomains_and_listed_origins_may_call_with_credentials(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.cookie_domain = Some("example.test".to_owned());
        s.allowed_redirect_origins = vec!["https://partner.test".to_owned()];
    })
    .await;
    for origin in ["http://app.example.test:5173", "https://partner.test"] {
        let res = preflight(&app, "/api/v1/auth/users/me/", origin).await;
        assert!(res.status().is_success(), "{origin}: {}", res.status());
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some(origin)
        );
        assert_eq!(
            header(&res, "access-control-allow-credentials").as_deref(),
            Some("true")
        );
        assert!(
            header(&res, "access-control-allow-methods")
                .unwrap()
                .contains("PATCH")
        );
        assert!(
            header(&res, "access-control-allow-headers")
                .unwrap()
                .to_lowercase()
                .contains("content-type")
        );
    }
    // A simple request from an allowed origin gets the headers too.
    let res = plain_client()
        .get(app.url("/api/v1/auth/users/me/"))
        .header("origin", "http://app.example.test:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("http://app.example.test:5173")
    );
    // Anyone else: no CORS grant at all, and never a wildcard.
    for origin in [
        "https://evil.test",
        "https://example.test.evil.test",
        "null",
    ] {
        let res = preflight(&app, "/api/v1/auth/users/me/", origin).await;
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            None,
            "{origin}"
        );
        assert_ne!(
            header(&res, "access-control-allow-credentials").as_deref(),
            Some("true")
        );
    }
    // The HTML pages are not part of the API's CORS.
    let res = plain_client()
        .get(app.url("/login"))
        .header("origin", "http://app.example.test:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

async fn a_sibling_spa_may_patch_with_the_cookie_and_other_sites_may_not(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.cookie_domain = Some("example.test".to_owned());
    })
    .await;
    app.acme().await;
    let (access, _) = crate::api::json_helpers::tokens(&app, "acme", "ada@acme.test").await;
    let patch = |origin: &'static str, fetch_site: &'static str| {
        plain_client()
            .patch(app.url("/api/v1/auth/users/me/"))
            .header("cookie", format!("access_token={access}"))
            .header("content-type", "application/json")
            .header("origin", origin)
            .header("sec-fetch-site", fetch_site)
            .body(r#"{"last_name": "Byron"}"#)
            .send()
    };
    let res = patch("http://app.example.test:5173", "same-site")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("http://app.example.test:5173")
    );
    for (origin, site) in [
        ("https://evil.test", "cross-site"),
        ("https://evil.test", "same-site"),
        ("http://app.example.test:5173", "cross-site"),
    ] {
        let res = patch(origin, site).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin} {site}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().starts_with("CSRF Failed"));
    }
}
