//! CSRF: forms need the session's token, cookie API writes need the header, cross-origin
//! requests are refused; Bearer calls are exempt.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, PUBLIC_URL, Tenant, TestApp, today};
use test_support::db_tests;

db_tests!(
    forms_need_the_session_token_and_same_origin,
    cookie_api_writes_need_the_csrf_header
);

async fn forms_need_the_session_token_and_same_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let owner = app.user(&acme, Role::Owner, "Olga");
    let other_session = app.user(&acme, Role::Owner, "Olga");
    let fields = [("name", "Sales")];

    // No token, a token of another session, a cross-origin Origin: 403 and nothing created.
    let res = app
        .post_form_raw("/departments", &owner, &fields, Some(PUBLIC_URL))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let with_foreign = [
        ("csrf_token", other_session.csrf.as_str()),
        ("name", "Sales"),
    ];
    let res = app
        .post_form_raw("/departments", &owner, &with_foreign, Some(PUBLIC_URL))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let with_token = [("csrf_token", owner.csrf.as_str()), ("name", "Sales")];
    let res = app
        .post_form_raw(
            "/departments",
            &owner,
            &with_token,
            Some("http://evil.test"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let list: Value = app
        .api(Method::GET, "/api/v1/departments/", Some(&owner), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));

    // The right token from the right origin (or no Origin at all, as old clients send): ok.
    let res = app
        .post_form_raw("/departments", &owner, &with_token, Some(PUBLIC_URL))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let again = [("csrf_token", owner.csrf.as_str()), ("name", "Ops")];
    let res = app
        .post_form_raw("/departments", &owner, &again, None)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

async fn cookie_api_writes_need_the_csrf_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let owner = app.user(&acme, Role::Owner, "Olga");
    let body = json!({"name": "Sales"});

    let res = app
        .api_cookie(
            Method::POST,
            "/api/v1/departments/",
            &owner,
            Some(body.clone()),
            HeaderMap::new(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.json::<Value>().await.unwrap()["detail"].is_string());

    let mut cross = HeaderMap::new();
    cross.insert("x-csrf-token", owner.csrf.parse().unwrap());
    cross.insert("sec-fetch-site", "cross-site".parse().unwrap());
    let res = app
        .api_cookie(
            Method::POST,
            "/api/v1/departments/",
            &owner,
            Some(body.clone()),
            cross,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The token from /api/v1/me, sent back in the header: ok.
    let me: Value = app
        .api_cookie(Method::GET, "/api/v1/me", &owner, None, HeaderMap::new())
        .await
        .json()
        .await
        .unwrap();
    let mut ok = HeaderMap::new();
    ok.insert(
        "x-csrf-token",
        me["csrf_token"].as_str().unwrap().parse().unwrap(),
    );
    ok.insert("origin", PUBLIC_URL.parse().unwrap());
    let res = app
        .api_cookie(Method::POST, "/api/v1/departments/", &owner, Some(body), ok)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let dept: Value = res.json().await.unwrap();

    // Bearer calls need no CSRF token.
    let e = json!({"amount": "1", "currency": "EUR", "description": "x", "spent_on": today(), "department_id": dept["id"]});
    let res = app
        .api(Method::POST, "/api/v1/expenses/", Some(&owner), Some(e))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.stop().await;
}
