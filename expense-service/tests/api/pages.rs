//! The frame every page shares, security headers, health and static files.

use reqwest::StatusCode;
use shared_jwt::Role;

use crate::api::helpers::{AUTH_URL, Backend, Tenant, TestApp};
use test_support::db_tests;

db_tests!(
    pages_show_user_org_and_sign_out_with_security_headers,
    health_readiness_and_stylesheet
);

async fn pages_show_user_org_and_sign_out_with_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let owner = app.user(&acme, Role::Owner, "Olga <Owner>");
    let res = app.get("/", Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("x-request-id"));
    let html = res.text().await.unwrap();
    assert!(html.contains("/static/app.css"));
    assert!(html.contains("id=\"signed-in-org\">acme<"));
    assert!(html.contains("id=\"signed-in-role\">owner<"));
    assert!(!html.contains("Olga <Owner>"), "user text is escaped");
    assert!(html.contains(&format!("href=\"{AUTH_URL}/logout\"")));
    assert!(
        html.contains("href=\"/departments\""),
        "owners manage departments"
    );
    assert!(html.contains("Create one"), "no department yet: prompt");

    // Error pages look the same and carry the headers too.
    let res = app
        .get(
            "/expenses/00000000-0000-0000-0000-000000000000",
            Some(&owner),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(res.text().await.unwrap().contains("404"));
    app.stop().await;
}

async fn health_readiness_and_stylesheet(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["database"],
        "ok"
    );
    let res = app.get("/static/app.css", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(res.text().await.unwrap().contains("--accent"));
    app.stop().await;
}
