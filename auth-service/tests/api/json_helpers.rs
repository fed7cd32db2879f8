//! Helpers for the JSON API tests: requests with or without a bearer token, the
//! response as (status, JSON), and token pairs from `jwt/create/`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::helpers::{PASSWORD, TestApp, plain_client};

/// A JSON API call without cookies; `bearer` adds `Authorization: Bearer …`.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = plain_client().request(method, app.url(path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Status and JSON body (asserting the body is JSON).
pub async fn status_json(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let ct = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    assert!(ct.starts_with("application/json"), "{status} {ct}: {text}");
    (status, serde_json::from_str(&text).unwrap())
}

/// POST JSON, anonymous.
pub async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    status_json(call(app, Method::POST, path, None, Some(body)).await).await
}

/// A request with a bearer token.
pub async fn authed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    status_json(call(app, method, path, Some(token), body).await).await
}

/// `jwt/create/` with the helpers' password; panics unless it answers 200.
pub async fn tokens(app: &TestApp, slug: &str, email: &str) -> (String, String) {
    let (status, body) = post(
        app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": slug, "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["access"].as_str().unwrap().to_owned(),
        body["refresh"].as_str().unwrap().to_owned(),
    )
}

/// The DRF-shaped error's fields, sorted.
pub fn fields(body: &Value) -> Vec<String> {
    let mut k: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}
