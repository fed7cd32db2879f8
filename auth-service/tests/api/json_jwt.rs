//! `jwt/create/`, `jwt/refresh/`, `jwt/verify/`, `jwt/revoke/`: sign-in with the HTML
//! flow's rules (generic 401, throttle, audit), rotation, grace, reuse detection.

use std::time::Duration;

use auth_service::accounts::signin::FAILED;
use auth_service::tenants::SignupPolicy;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shared_jwt::Role;

use crate::api::helpers::{Backend, PASSWORD, TestApp};
use crate::api::json_helpers::{authed, call, fields, post, tokens};
use test_support::db_tests;

db_tests!(
    create_returns_a_pair_and_one_generic_401_for_every_failure,
    create_validates_fields,
    create_is_throttled_like_the_sign_in_form,
    refresh_rotates_and_hands_out_the_same_successor_within_the_grace,
    reuse_of_a_rotated_token_after_the_grace_revokes_the_family,
    verify_accepts_live_access_tokens_only,
    revoke_ends_the_whole_family_and_tells_nothing_about_unknown_tokens,
);

const CREATE: &str = "/api/v1/auth/jwt/create/";
const REFRESH: &str = "/api/v1/auth/jwt/refresh/";
const VERIFY: &str = "/api/v1/auth/jwt/verify/";
const REVOKE: &str = "/api/v1/auth/jwt/revoke/";

async fn create_returns_a_pair_and_one_generic_401_for_every_failure(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    let other = app.tenant("globex", SignupPolicy::Open, 10).await;
    app.user(&other, "eve@globex.test", Role::Member).await;

    let (access, refresh) = tokens(&app, "acme", "ADA@acme.test").await;
    let claims = app.state.verifier.verify(&access).unwrap();
    assert_eq!((claims.user_id, claims.tenant_id), (user.id, tenant.id));
    assert!(refresh.len() >= 43);

    let mut bodies = Vec::new();
    for (slug, email, pw) in [
        ("acme", "ada@acme.test", "wrong password here"),
        ("acme", "nobody@acme.test", PASSWORD),
        ("nosuch", "ada@acme.test", PASSWORD),
        ("globex", "ada@acme.test", PASSWORD),
    ] {
        let res = call(
            &app,
            Method::POST,
            CREATE,
            None,
            Some(json!({"tenant_slug": slug, "email": email, "password": pw})),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().get("www-authenticate").is_some());
        bodies.push(res.text().await.unwrap());
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]), "{bodies:?}");
    assert!(bodies[0].contains(FAILED));
    assert_eq!(app.count_events("login_failure").await, 4);
    assert_eq!(app.count_events("login_success").await, 1);

    // An inactive user gets the same answer.
    auth_service::users::set_active(&app.state.db, user.id, false)
        .await
        .unwrap();
    let (status, body) = post(
        &app,
        CREATE,
        json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body.to_string(), bodies[0]);
}

async fn create_validates_fields(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (status, body) = post(&app, CREATE, json!({"email": 3, "password": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["email", "password", "tenant_slug"]);
    assert_eq!(body["tenant_slug"][0], "This field is required.");
    assert_eq!(body["email"][0], "Not a valid string.");
    assert_eq!(body["password"][0], "This field may not be blank.");
}

async fn create_is_throttled_like_the_sign_in_form(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let wrong =
        json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": "not the password"});
    for _ in 0..5 {
        let (status, _) = post(&app, CREATE, wrong.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused, with Retry-After.
    let res = call(
        &app,
        Method::POST,
        CREATE,
        None,
        Some(json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Too many attempts")
    );
    assert_eq!(app.count_events("lock").await, 1);
    assert_eq!(app.count_events("login_throttled").await, 1);
    // The HTML form shares the lock.
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 429);
}

async fn refresh_rotates_and_hands_out_the_same_successor_within_the_grace(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (_, r1) = tokens(&app, "acme", "ada@acme.test").await;
    let (status, first) = post(&app, REFRESH, json!({"refresh": r1})).await;
    assert_eq!(status, StatusCode::OK);
    let r2 = first["refresh"].as_str().unwrap().to_owned();
    assert_ne!(r2, r1);
    assert!(
        app.state
            .verifier
            .verify(first["access"].as_str().unwrap())
            .is_ok()
    );
    // A second tab presenting r1 within the grace gets the same successor.
    let (status, second) = post(&app, REFRESH, json!({"refresh": r1})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["refresh"], first["refresh"]);
    // And r2 rotates on.
    let (status, third) = post(&app, REFRESH, json!({"refresh": r2})).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(third["refresh"], first["refresh"]);
    // Garbage and missing fields.
    let (status, body) = post(&app, REFRESH, json!({"refresh": "nope"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_not_valid");
    let (status, body) = post(&app, REFRESH, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["refresh"][0], "This field is required.");
}

async fn reuse_of_a_rotated_token_after_the_grace_revokes_the_family(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.refresh_reuse_grace = Duration::from_millis(1)).await;
    app.acme().await;
    let (_, r1) = tokens(&app, "acme", "ada@acme.test").await;
    let (_, other_session) = tokens(&app, "acme", "ada@acme.test").await;
    let (status, first) = post(&app, REFRESH, json!({"refresh": r1})).await;
    assert_eq!(status, StatusCode::OK);
    let r2 = first["refresh"].as_str().unwrap().to_owned();
    let access2 = first["access"].as_str().unwrap().to_owned();
    // Let the (1 ms) grace pass: this is ordering, not a timing assertion.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (status, body) = post(&app, REFRESH, json!({"refresh": r1})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_not_valid");
    assert_eq!(app.count_events("refresh_reuse").await, 1);
    // The whole family is gone: the legitimate successor and its access token too.
    let (status, _) = post(&app, REFRESH, json!({"refresh": r2})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&app, VERIFY, json!({"token": access2})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = authed(&app, Method::GET, "/api/v1/auth/users/me/", &access2, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another sign-in of the same user is untouched.
    let (status, _) = post(&app, REFRESH, json!({"refresh": other_session})).await;
    assert_eq!(status, StatusCode::OK);
}

async fn verify_accepts_live_access_tokens_only(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (access, refresh) = tokens(&app, "acme", "ada@acme.test").await;
    let (status, body) = post(&app, VERIFY, json!({"token": access})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    for bad in ["garbage".to_owned(), format!("{access}x"), refresh.clone()] {
        let (status, body) = post(&app, VERIFY, json!({"token": bad})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["detail"], "Token is invalid or expired");
    }
    let (status, body) = post(&app, VERIFY, json!({"token": null})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["token"][0], "This field is required.");
}

async fn revoke_ends_the_whole_family_and_tells_nothing_about_unknown_tokens(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (access, r1) = tokens(&app, "acme", "ada@acme.test").await;
    let (_, rotated) = post(&app, REFRESH, json!({"refresh": r1})).await;
    let r2 = rotated["refresh"].as_str().unwrap().to_owned();
    // Revoking with the older token ends the family, successor included.
    let res = call(
        &app,
        Method::POST,
        REVOKE,
        None,
        Some(json!({"refresh": r1})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.text().await.unwrap().is_empty());
    let (status, _) = post(&app, REFRESH, json!({"refresh": r2})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&app, VERIFY, json!({"token": access})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count_events("logout").await, 1);
    // Unknown token: same 204; missing field: 400.
    let res = call(
        &app,
        Method::POST,
        REVOKE,
        None,
        Some(json!({"refresh": "unknown"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, body) = post(&app, REVOKE, json!({"refresh": 12})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["refresh"][0], "Not a valid string.");
}
