//! `GET /metrics`: requests by route template and status, the JWKS fetches and the
//! verified-token cache (shared-jwt), the database pool.

use reqwest::{Method, StatusCode};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp};
use test_support::db_tests;

db_tests!(metrics_hold_requests_jwks_fetches_and_the_token_cache);

async fn metrics_hold_requests_jwks_fetches_and_the_token_cache(backend: Backend) {
    let app = TestApp::spawn_fetching_jwks(backend).await;
    let tenant = Tenant::new("acme");
    let user = app.user(&tenant, Role::Admin, "Ann Admin");
    for _ in 0..2 {
        let res = app.api(Method::GET, "/api/v1/me", Some(&user), None).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    for series in [
        r#"http_requests_total{method="GET",route="/api/v1/me",status="200"}"#,
        r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/me",status="200",le="#,
        r#"jwt_jwks_fetches_total{result="ok"}"#,
        r#"jwt_token_cache_lookups_total{result="miss"}"#,
        r#"jwt_token_cache_lookups_total{result="hit"}"#,
        r#"db_pool_connections{state="in_use"}"#,
    ] {
        assert!(text.contains(series), "missing {series} in:\n{text}");
    }
    assert!(!text.contains(&user.token), "no token in /metrics");
    app.stop().await;
}
