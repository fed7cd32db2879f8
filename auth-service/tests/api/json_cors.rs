//! CORS of the JSON API trusts origins, not subdomains: credentials (and cookie-
//! authenticated writes) only for this service's origin and those in
//! `CORS_ALLOWED_ORIGINS` — not for an unlisted sibling under `COOKIE_DOMAIN`, nor for
//! `ALLOWED_REDIRECT_ORIGINS`; the origin echoed (never `*`), preflight answered; bearer
//! calls unaffected; the HTML pages get no CORS headers.

use auth_service::users;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shared_jwt::Role;

use crate::api::helpers::{Backend, TestApp, plain_client};
use crate::api::json_helpers::tokens;
use test_support::db_tests;

db_tests!(
    only_listed_origins_may_call_with_credentials,
    a_listed_spa_may_write_with_the_cookie_and_an_unlisted_sibling_may_not,
    bearer_calls_do_not_depend_on_the_origin,
);

const LISTED: &str = "http://app.example.test:5173";
const SIBLING: &str = "http://other.example.test:5173";

async fn spawn(b: Backend) -> TestApp {
    TestApp::spawn_with(b, |s| {
        s.cookie_domain = Some("example.test".to_owned());
        s.cors_allowed_origins = vec![LISTED.to_owned()];
        s.allowed_redirect_origins = vec!["https://partner.test".to_owned()];
    })
    .await
}

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

/// No grant of any kind: no allowed origin, no credentials.
fn assert_no_grant(res: &reqwest::Response, what: &str) {
    assert_eq!(header(res, "access-control-allow-origin"), None, "{what}");
    assert_eq!(
        header(res, "access-control-allow-credentials"),
        None,
        "{what}"
    );
}

async fn only_listed_origins_may_call_with_credentials(b: Backend) {
    let app = spawn(b).await;
    let own = app.state.settings.public_origin();
    for origin in [LISTED, own.as_str()] {
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
    // A simple request from the listed origin gets the headers too.
    let res = plain_client()
        .get(app.url("/api/v1/auth/users/me/"))
        .header("origin", LISTED)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some(LISTED)
    );
    // An unlisted sibling subdomain, the cookie domain itself, a redirect origin, anyone
    // else: no CORS grant at all, and never a wildcard.
    for origin in [
        SIBLING,
        "http://example.test",
        "https://app.example.test",
        "https://partner.test",
        "https://evil.test",
        "null",
    ] {
        let res = preflight(&app, "/api/v1/auth/users/me/", origin).await;
        assert_no_grant(&res, origin);
        let res = preflight(
            &app,
            "/api/v1/auth/users/00000000-0000-0000-0000-000000000001/",
            origin,
        )
        .await;
        assert_no_grant(&res, origin);
    }
    // The HTML pages are not part of the API's CORS.
    let res = plain_client()
        .get(app.url("/login"))
        .header("origin", LISTED)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

async fn a_listed_spa_may_write_with_the_cookie_and_an_unlisted_sibling_may_not(b: Backend) {
    let app = spawn(b).await;
    let (tenant, _) = app.acme().await;
    let owner = app.user(&tenant, "owner@acme.test", Role::Owner).await;
    let member = app.user(&tenant, "mel@acme.test", Role::Member).await;
    let (access, _) = tokens(&app, "acme", "owner@acme.test").await;
    let write = |method: Method, path: String, origin: &'static str, body: serde_json::Value| {
        plain_client()
            .request(method, app.url(&path))
            .header("cookie", format!("access_token={access}"))
            .header("content-type", "application/json")
            .header("origin", origin)
            .header("sec-fetch-site", "same-site")
            .body(body.to_string())
            .send()
    };
    let promote = format!("/api/v1/auth/users/{}/", member.id);
    // The sibling's XSS tries to make a member owner with the owner's cookie.
    for (method, path, body) in [
        (Method::PATCH, promote.clone(), json!({"role": "owner"})),
        (
            Method::PATCH,
            "/api/v1/auth/users/me/".to_owned(),
            json!({"last_name": "Pwned"}),
        ),
    ] {
        let res = write(method, path.clone(), SIBLING, body).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert_no_grant(&res, &path);
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().starts_with("CSRF Failed"));
    }
    let unchanged = users::find_by_email(&app.state.db, tenant.id, "mel@acme.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.role, member.role);
    let me = users::find_by_email(&app.state.db, tenant.id, "owner@acme.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me.last_name, owner.last_name);
    // The listed single-page app may.
    let res = write(Method::PATCH, promote, LISTED, json!({"role": "admin"}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some(LISTED)
    );
    assert_eq!(
        header(&res, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    // Cross-site is refused even from the listed origin's host name.
    let res = plain_client()
        .patch(app.url("/api/v1/auth/users/me/"))
        .header("cookie", format!("access_token={access}"))
        .header("content-type", "application/json")
        .header("origin", LISTED)
        .header("sec-fetch-site", "cross-site")
        .body(r#"{"last_name": "Byron"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn bearer_calls_do_not_depend_on_the_origin(b: Backend) {
    let app = spawn(b).await;
    app.acme().await;
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    for origin in [SIBLING, "https://evil.test"] {
        let res = plain_client()
            .patch(app.url("/api/v1/auth/users/me/"))
            .bearer_auth(&access)
            .header("origin", origin)
            .header("sec-fetch-site", "cross-site")
            .json(&json!({"last_name": "Byron"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{origin}");
        // A bearer token is no cookie: the browser still gets no CORS grant.
        assert_no_grant(&res, origin);
    }
}
