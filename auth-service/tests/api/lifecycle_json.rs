//! djoser's e-mail endpoints through a real SMTP server: `users/reset_password/` and
//! `users/resend_activation/` answer `204` whatever the account; the mailed tokens work
//! once with `users/reset_password_confirm/` and `users/activation/`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::*;
use super::json_helpers::{authed, fields, post, tokens};
use super::lifecycle_helpers::*;
use auth_service::tenants::SignupPolicy;
use test_support::db_tests;

db_tests!(
    lifecycle_json_reset_password_by_mail,
    lifecycle_json_activation_of_a_domain_account,
);

fn token_of(path: &str) -> String {
    path.split("token=").nth(1).unwrap().to_owned()
}

async fn lifecycle_json_reset_password_by_mail(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.acme().await;
    let (_, refresh) = tokens(&app, "acme", "ada@acme.test").await;
    for (slug, email) in [("acme", "nobody@acme.test"), ("nowhere", "ada@acme.test")] {
        let (status, body) = post(
            &app,
            "/api/v1/auth/users/reset_password/",
            json!({"tenant_slug": slug, "email": email}),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, _) = post(
        &app,
        "/api/v1/auth/users/reset_password/",
        json!({"tenant_slug": "acme", "email": "ada@acme.test"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = post(&app, "/api/v1/auth/users/reset_password/", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["email", "tenant_slug"]);
    app.mail().assert_none_to("nobody@acme.test", SETTLE).await;
    let token = token_of(&mailed_path(
        &app.mail().wait_for("ada@acme.test").await,
        "/password/reset?token=",
    ));

    let confirm = "/api/v1/auth/users/reset_password_confirm/";
    let (status, body) = post(
        &app,
        confirm,
        json!({"token": token, "new_password": "short"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["new_password"]);
    let (status, body) = post(
        &app,
        confirm,
        json!({"token": "nope", "new_password": "a fine new passphrase"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].is_string(), "{body}");
    let (status, _) = post(
        &app,
        confirm,
        json!({"token": token, "new_password": "a fine new passphrase"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Every session ended; the new password works; the token is spent.
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/refresh/",
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": "a fine new passphrase"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &app,
        confirm,
        json!({"token": token, "new_password": "yet another passphrase"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].is_string(), "{body}");
}

async fn lifecycle_json_activation_of_a_domain_account(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.tenant(
        "acme",
        "domains:acme.test".parse::<SignupPolicy>().unwrap(),
        10,
    )
    .await;
    let (status, user) = post(
        &app,
        "/api/v1/auth/users/",
        json!({"first_name": "X", "last_name": "Y", "email": "x@acme.test",
               "password": PASSWORD, "tenant_slug": "acme"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(user["email_verified"], json!(false));
    let creds = json!({"tenant_slug": "acme", "email": "x@acme.test", "password": PASSWORD});
    let (status, body) = post(&app, "/api/v1/auth/jwt/create/", creds.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "email_not_verified");
    app.mail().wait_for("x@acme.test").await;
    for email in ["x@acme.test", "nobody@acme.test"] {
        let (status, _) = post(
            &app,
            "/api/v1/auth/users/resend_activation/",
            json!({"tenant_slug": "acme", "email": email}),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let newest = app.mail().wait_for_nth("x@acme.test", 2).await;
    let token = token_of(&mailed_path(&newest, "/verify-email?token="));
    let (status, _) = post(
        &app,
        "/api/v1/auth/users/activation/",
        json!({"token": token}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = post(
        &app,
        "/api/v1/auth/users/activation/",
        json!({"token": token}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].is_string());
    let (access, _) = tokens(&app, "acme", "x@acme.test").await;
    let (_, me) = authed(&app, Method::GET, "/api/v1/auth/users/me/", &access, None).await;
    assert_eq!(me["email_verified"], json!(true));
    app.mail().assert_none_to("nobody@acme.test", SETTLE).await;
}
