//! The OpenAPI document stays true: every operation the API router is built from
//! ([`Endpoint::ALL`]) is in `/api/v1/openapi.json` and vice versa, and every one of
//! them is really routed (answers neither 404 nor 405).

use std::collections::BTreeSet;

use auth_service::api::Endpoint;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::api::helpers::{Backend, TestApp, plain_client};
use test_support::db_tests;

db_tests!(the_document_lists_exactly_the_routed_operations,);

async fn the_document_lists_exactly_the_routed_operations(b: Backend) {
    let app = TestApp::spawn(b).await;
    let res = plain_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = Endpoint::ALL
        .iter()
        .map(|e| (e.method().to_string(), e.full_path()))
        .collect();
    assert_eq!(documented, routed);

    for e in Endpoint::ALL {
        let path = e
            .full_path()
            .replace("{id}", &uuid::Uuid::new_v4().to_string());
        let method = Method::from_bytes(e.method().as_str().as_bytes()).unwrap();
        let res = plain_client()
            .request(method, app.url(&path))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&res.status()),
            "{e:?} {path}: {}",
            res.status()
        );
    }
}
