//! `POST users/`, `GET/PATCH users/me/`, `POST users/set_password/`, and the JSON
//! error shape of malformed requests.

use auth_service::accounts::signup::JOIN_REFUSED;
use auth_service::tenants::SignupPolicy;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, PASSWORD, TestApp, plain_client};
use crate::api::json_helpers::{authed, call, fields, post, status_json, tokens};
use test_support::db_tests;

db_tests!(
    sign_up_joins_an_open_organization_or_creates_one,
    sign_up_reports_every_invalid_field_at_once,
    every_refused_join_gets_the_same_answer,
    malformed_requests_get_json_errors,
    me_needs_a_valid_token_and_patch_changes_names_only,
    the_access_cookie_works_and_unsafe_cookie_requests_pass_the_csrf_rule,
    set_password_keeps_this_session_and_ends_the_others,
    set_password_validates_and_throttles_wrong_current_passwords,
);

const USERS: &str = "/api/v1/auth/users/";
const ME: &str = "/api/v1/auth/users/me/";
const SET_PASSWORD: &str = "/api/v1/auth/users/set_password/";

fn signup(extra: Value) -> Value {
    let mut body = json!({
        "email": "grace@acme.test",
        "password": "a long and fine password",
        "first_name": "Grace",
        "last_name": "Hopper",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn sign_up_joins_an_open_organization_or_creates_one(b: Backend) {
    let app = TestApp::spawn(b).await;
    let acme = app.tenant("acme", SignupPolicy::Open, 10).await;
    let (status, user) = post(&app, USERS, signup(json!({"tenant_slug": "ACME"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["role"], "member");
    assert_eq!(user["tenant_id"], acme.id.to_string());
    assert_eq!(user["email"], "grace@acme.test");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let (status, owner) = post(
        &app,
        USERS,
        signup(json!({"organization_name": "Initech Ltd", "email": "bill@initech.test"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(owner["role"], "owner");
    assert_eq!(owner["tenant_slug"], "initech-ltd");
    // The new account can sign in.
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": "initech-ltd", "email": "bill@initech.test", "password": "a long and fine password"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count_events("signup").await, 2);
}

async fn sign_up_reports_every_invalid_field_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (status, body) = post(
        &app,
        USERS,
        json!({"email": "not-an-address", "password": "password", "first_name": " ", "tenant_slug": "A!"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fields(&body),
        [
            "email",
            "first_name",
            "last_name",
            "password",
            "tenant_slug"
        ]
    );
    assert_eq!(body["last_name"][0], "This field is required.");
    assert_eq!(
        body["password"][0],
        "This password is too common; choose another."
    );
    let (status, body) = post(
        &app,
        USERS,
        signup(json!({"tenant_slug": "acme", "organization_name": "Acme"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["non_field_errors"]);
    assert_eq!(app.count_users().await, 0);
}

async fn every_refused_join_gets_the_same_answer(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (acme, _) = app.acme().await;
    app.tenant("closed", SignupPolicy::InviteOnly, 10).await;
    app.tenant("tiny", SignupPolicy::Open, 1).await;
    let tiny = auth_service::tenants::find_by_slug(&app.state.db, "tiny")
        .await
        .unwrap()
        .unwrap();
    app.user(&tiny, "first@tiny.test", Role::Owner).await;
    let mut answers = Vec::new();
    for (slug, email) in [
        ("nosuch", "grace@acme.test"),
        ("closed", "grace@acme.test"),
        ("tiny", "grace@acme.test"),
        ("acme", "ADA@acme.test"),
    ] {
        let (status, body) = post(
            &app,
            USERS,
            signup(json!({"tenant_slug": slug, "email": email})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{slug}");
        answers.push(body);
    }
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert_eq!(answers[0], json!({"tenant_slug": [JOIN_REFUSED]}));
    assert_eq!(app.count_events("signup_refused").await, 4);
    let _ = acme;
}

async fn malformed_requests_get_json_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let client = plain_client();
    let url = app.url(USERS);
    // Wrong content type (a form): 415.
    let res = client
        .post(&url)
        .form(&[("email", "x")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    // Broken JSON: 400 detail.
    let res = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error")
    );
    // Not an object: 400 non_field_errors.
    let (status, body) = post(&app, USERS, json!([1, 2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["non_field_errors"][0],
        "Invalid data. Expected a dictionary, but got list."
    );
    // Over the body limit: 413.
    let big = json!({"email": "x".repeat(70 * 1024)});
    let (status, body) = post(&app, USERS, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["detail"], "Request body is too large.");
    // Unknown path and wrong method: JSON too.
    let (status, body) = status_json(
        client
            .get(app.url("/api/v1/auth/nothing/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
    let (status, body) = status_json(client.delete(app.url(ME)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["detail"], "Method \"DELETE\" not allowed.");
}

async fn me_needs_a_valid_token_and_patch_changes_names_only(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    let res = call(&app, Method::GET, ME, None, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (_, body) = status_json(res).await;
    assert_eq!(body["code"], "not_authenticated");
    let (status, body) = authed(&app, Method::GET, ME, "not.a.token", None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("token_not_valid"))
    );

    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    let (status, me) = authed(&app, Method::GET, ME, &access, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], user.id.to_string());
    assert_eq!(me["tenant_slug"], tenant.slug);
    assert_eq!(me["role"], "member");

    let (status, me) = authed(
        &app,
        Method::PATCH,
        ME,
        &access,
        Some(json!({"first_name": " Ada ", "role": "owner", "email": "x@y.test"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["first_name"], "Ada");
    assert_eq!(me["last_name"], "Hopper");
    assert_eq!(me["role"], "member");
    assert_eq!(me["email"], "ada@acme.test");
    let (status, body) = authed(
        &app,
        Method::PATCH,
        ME,
        &access,
        Some(json!({"last_name": "", "first_name": "x".repeat(101)})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["first_name", "last_name"]);
}

async fn the_access_cookie_works_and_unsafe_cookie_requests_pass_the_csrf_rule(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    // A browser signed in through the form carries the access cookie.
    assert_eq!(
        app.login("acme", "ada@acme.test", PASSWORD, "/")
            .await
            .status(),
        303
    );
    let (status, me) = status_json(app.client.get(app.url(ME)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "ada@acme.test");
    let patch = |origin: Option<&'static str>, content_type: &'static str| {
        let mut req = app
            .client
            .patch(app.url(ME))
            .header("content-type", content_type)
            .body(r#"{"first_name": "Augusta"}"#);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    // Another site's origin: refused.
    let (status, body) = status_json(
        patch(Some("https://evil.test"), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().starts_with("CSRF Failed"));
    // What a cross-site form could send (text/plain): refused.
    let (status, _) = status_json(patch(None, "text/plain").await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Same origin with JSON: accepted.
    let (status, me) = status_json(
        patch(Some("http://localhost:8000"), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["first_name"], "Augusta");
}

async fn set_password_keeps_this_session_and_ends_the_others(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (access, this_refresh) = tokens(&app, "acme", "ada@acme.test").await;
    let (other_access, other_refresh) = tokens(&app, "acme", "ada@acme.test").await;
    let new_pw = "a brand new passphrase";
    let res = call(
        &app,
        Method::POST,
        SET_PASSWORD,
        Some(&access),
        Some(json!({"current_password": PASSWORD, "new_password": new_pw})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The other session is over; this one lives on.
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/refresh/",
        json!({"refresh": other_refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = authed(&app, Method::GET, ME, &other_access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/refresh/",
        json!({"refresh": this_refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Only the new password signs in.
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": new_pw}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count_events("password_changed").await, 1);
}

async fn set_password_validates_and_throttles_wrong_current_passwords(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    let res = call(&app, Method::POST, SET_PASSWORD, None, Some(json!({}))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = authed(
        &app,
        Method::POST,
        SET_PASSWORD,
        &access,
        Some(json!({"new_password": "short"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["current_password", "new_password"]);
    assert_eq!(body["new_password"][0], "Use at least 8 characters.");
    let wrong =
        json!({"current_password": "not my password", "new_password": "a brand new passphrase"});
    for _ in 0..5 {
        let (status, body) = authed(
            &app,
            Method::POST,
            SET_PASSWORD,
            &access,
            Some(wrong.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({"current_password": ["Invalid password."]}));
    }
    // Locked now, like the sign-in it shares its counter with.
    let right = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    let res = call(&app, Method::POST, SET_PASSWORD, Some(&access), Some(right)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
