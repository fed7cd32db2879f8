//! `GET /metrics`: after sign-ins, refreshes, a reuse and a throttled request, every named
//! series is there with its labels; `METRICS_BIND` takes it off the public listener.

use std::time::Duration;

use auth_service::config::{Limit, Rate};
use serde_json::{Value, json};

use crate::api::helpers::{Backend, PASSWORD, TestApp, plain_client};
use test_support::db_tests;

db_tests!(
    metrics_after_a_sign_in_hold_every_series,
    metrics_bind_moves_metrics_off_the_public_listener,
);

const CREATE: &str = "/api/v1/auth/jwt/create/";
const REFRESH: &str = "/api/v1/auth/jwt/refresh/";
const VERIFY: &str = "/api/v1/auth/jwt/verify/";

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = plain_client()
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn metrics_after_a_sign_in_hold_every_series(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.refresh_reuse_grace = Duration::ZERO;
        s.rate_limits
            .set(Limit::TokenCheck, Rate::new(1, Duration::from_secs(3600)));
    })
    .await;
    app.acme().await;
    let creds = json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD});
    let (status, pair) = post(&app, CREATE, creds).await;
    assert_eq!(status, 200, "{pair}");
    let wrong =
        json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": "not it at all"});
    assert_eq!(post(&app, CREATE, wrong).await.0, 401);
    let first = pair["refresh"].clone();
    assert_eq!(post(&app, REFRESH, json!({"refresh": first})).await.0, 200);
    // Replayed after the (zero) grace: a reuse.
    assert_eq!(post(&app, REFRESH, json!({"refresh": first})).await.0, 401);
    for _ in 0..2 {
        post(&app, VERIFY, json!({"token": pair["access"]})).await;
    }

    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    for series in [
        r#"http_requests_total{method="POST",route="/api/v1/auth/jwt/create/",status="200"}"#,
        r#"http_requests_total{method="POST",route="/api/v1/auth/jwt/create/",status="401"}"#,
        r#"http_request_duration_seconds_bucket{method="POST",route="/api/v1/auth/jwt/create/",status="200",le="#,
        r#"http_request_duration_seconds_count{method="POST",route="/api/v1/auth/jwt/refresh/",status="200"}"#,
        r#"auth_sign_ins_total{outcome="success"}"#,
        r#"auth_sign_ins_total{outcome="failure"}"#,
        r#"auth_throttled_requests_total{limit="token_check"}"#,
        "auth_password_hash_queue_depth ",
        r#"auth_password_hash_wait_seconds_bucket{result="acquired",le="#,
        "auth_refresh_rotations_total ",
        "auth_refresh_reuse_detections_total ",
        r#"db_pool_connections{state="in_use"}"#,
        r#"db_pool_connections{state="idle"}"#,
    ] {
        assert!(text.contains(series), "missing {series} in:\n{text}");
    }
    for secret in [pair["access"].as_str().unwrap(), PASSWORD] {
        assert!(!text.contains(secret), "a secret in /metrics");
    }
}

async fn metrics_bind_moves_metrics_off_the_public_listener(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    assert_eq!(app.get("/healthz").await.status(), 200);
}
