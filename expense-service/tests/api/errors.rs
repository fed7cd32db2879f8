//! One error model, one HTML-or-JSON rule (`shared_jwt::axum::wants_html`): shared-jwt's 403s
//! look like the service's own errors, browsers get the service's error page, API clients
//! `{"detail"}`.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;
use shared_jwt::axum::{CSRF_DETAIL, FORBIDDEN_DETAIL, WRONG_TENANT_DETAIL};

use crate::api::helpers::{Backend, PUBLIC_URL, Tenant, TestApp};
use test_support::db_tests;

db_tests!(
    wrong_tenant_403s_render_the_service_error_page,
    csrf_403s_render_the_service_error_page,
    a_role_too_low_gets_the_same_message_from_every_route,
    errors_are_html_or_json_by_the_one_rule,
);

/// Asserts `res` is the service's error page (templates/errors/expenses.html) with `message`.
async fn assert_service_page(res: reqwest::Response, status: StatusCode, message: &str) {
    assert_eq!(res.status(), status);
    let h = res.headers().clone();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(h["x-frame-options"], "DENY");
    let html = res.text().await.unwrap();
    let reason = status.canonical_reason().unwrap();
    assert!(
        html.contains(&format!("<title>{reason} · Expenses</title>")),
        "{html}"
    );
    assert!(html.contains("/static/app.css"), "{html}");
    assert!(
        html.contains(&format!("{} · {reason}", status.as_u16())),
        "{html}"
    );
    assert!(
        html.contains(&format!("<p id=\"error-message\">{message}</p>")),
        "{html}"
    );
    assert!(html.contains("Back to expenses"), "{html}");
}

async fn assert_detail(res: reqwest::Response, status: StatusCode, detail: &str) {
    assert_eq!(res.status(), status);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "detail": detail })
    );
}

async fn wrong_tenant_403s_render_the_service_error_page(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("TENANT_FROM_HOST", "true")]).await;
    let ann = app.user(&Tenant::new("acme"), Role::Member, "Ann");
    let url = format!("http://globex.example.test:{}", app.port);
    let cookie = format!("access_token={}", ann.token);
    let page = app
        .client
        .get(format!("{url}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_service_page(page, StatusCode::FORBIDDEN, WRONG_TENANT_DETAIL).await;
    let api = app
        .client
        .get(format!("{url}/api/v1/expenses/"))
        .header("authorization", format!("Bearer {}", ann.token))
        .send()
        .await
        .unwrap();
    assert_detail(api, StatusCode::FORBIDDEN, WRONG_TENANT_DETAIL).await;
    app.stop().await;
}

async fn csrf_403s_render_the_service_error_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.user(&Tenant::new("acme"), Role::Owner, "Olga");
    let with_token = [("csrf_token", owner.csrf.as_str()), ("name", "Sales")];

    // Cross-origin (refused by shared-jwt's layer) and a missing form token (the handler).
    let res = app
        .post_form_raw(
            "/departments",
            &owner,
            &with_token,
            Some("http://evil.test"),
        )
        .await;
    assert_service_page(res, StatusCode::FORBIDDEN, CSRF_DETAIL).await;
    let res = app
        .post_form_raw(
            "/departments",
            &owner,
            &[("name", "Sales")],
            Some(PUBLIC_URL),
        )
        .await;
    assert_service_page(res, StatusCode::FORBIDDEN, CSRF_DETAIL).await;

    // The same refusals to a script: JSON.
    let mut cross = HeaderMap::new();
    cross.insert("x-csrf-token", owner.csrf.parse().unwrap());
    cross.insert("sec-fetch-site", "cross-site".parse().unwrap());
    let body = Some(json!({"name": "Sales"}));
    let res = app
        .api_cookie(
            Method::POST,
            "/api/v1/departments/",
            &owner,
            body.clone(),
            cross,
        )
        .await;
    assert_detail(res, StatusCode::FORBIDDEN, CSRF_DETAIL).await;
    let res = app
        .api_cookie(
            Method::POST,
            "/api/v1/departments/",
            &owner,
            body,
            HeaderMap::new(),
        )
        .await;
    assert_detail(res, StatusCode::FORBIDDEN, CSRF_DETAIL).await;
    app.stop().await;
}

async fn a_role_too_low_gets_the_same_message_from_every_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let vera = app.user(&acme, Role::Viewer, "Vera");
    let ann = app.user(&acme, Role::Member, "Ann");
    // Page guards (shared-jwt's RequireRole) and the operations' checks (the service layer).
    let res = app.get("/expenses/new", Some(&vera)).await;
    assert_service_page(res, StatusCode::FORBIDDEN, FORBIDDEN_DETAIL).await;
    let res = app.get("/departments", Some(&ann)).await;
    assert_service_page(res, StatusCode::FORBIDDEN, FORBIDDEN_DETAIL).await;
    let res = app
        .post_form("/departments", &ann, &[("name", "Sales")])
        .await;
    assert_service_page(res, StatusCode::FORBIDDEN, FORBIDDEN_DETAIL).await;
    let res = app
        .api(
            Method::POST,
            "/api/v1/expenses/",
            Some(&vera),
            Some(json!({})),
        )
        .await;
    assert_detail(res, StatusCode::FORBIDDEN, FORBIDDEN_DETAIL).await;
    app.stop().await;
}

async fn errors_are_html_or_json_by_the_one_rule(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.user(&Tenant::new("acme"), Role::Owner, "Olga");
    let missing = "/expenses/00000000-0000-0000-0000-000000000000";
    let cookie = format!("access_token={}", owner.token);
    let send = |path: &str, header: Option<(&'static str, &'static str)>| {
        let mut req = app.client.get(app.url(path)).header("cookie", &cookie);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        req.send()
    };

    // A browser navigating (or a client that says nothing) gets the page.
    let res = send(missing, None).await.unwrap();
    assert_service_page(res, StatusCode::NOT_FOUND, "Not found.").await;
    let res = send(missing, Some(("sec-fetch-mode", "navigate")))
        .await
        .unwrap();
    assert_service_page(res, StatusCode::NOT_FOUND, "Not found.").await;
    // A client asking for JSON, a script's fetch, and anything under /api get JSON.
    for header in [("accept", "application/json"), ("sec-fetch-mode", "cors")] {
        let res = send(missing, Some(header)).await.unwrap();
        assert_detail(res, StatusCode::NOT_FOUND, "Not found.").await;
    }
    for path in ["/api", "/api/v1/nope"] {
        let res = send(path, None).await.unwrap();
        assert_detail(res, StatusCode::NOT_FOUND, "Not found.").await;
    }
    // The same rule decides between sign-in redirect and 401.
    let res = app
        .client
        .get(app.url("/"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert!(body["login_url"].is_string() && body["detail"].is_string());
    app.stop().await;
}
