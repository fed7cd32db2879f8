//! Malformed input gets a 4xx page, never a 500, and writes nothing.

use crate::api::helpers::{Backend, PASSWORD, TestApp};
use test_support::db_tests;

db_tests!(
    missing_fields_are_a_4xx_page_and_write_nothing,
    a_one_megabyte_body_is_refused_with_413,
    invalid_utf8_is_a_4xx_and_never_a_500,
    a_ten_thousand_character_password_is_refused_politely,
);

async fn missing_fields_are_a_4xx_page_and_write_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let token = app.csrf_token("/login").await;
    let res = app.post_form("/login", &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let res = app.post_form("/register", &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This field is required.")
    );
    let res = app.client.post(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 403, "an empty body has no CSRF token");
    assert_eq!(app.count_users().await, 1);
    assert_eq!(app.count_tenants().await, 1);
    assert_eq!(app.count_events("login_failure").await, 0);
}

async fn a_one_megabyte_body_is_refused_with_413(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.csrf_token("/register").await;
    let big = "a".repeat(1024 * 1024);
    for path in ["/login", "/register", "/logout"] {
        let res = app
            .post_form(
                path,
                &[
                    ("csrf_token", token.as_str()),
                    ("first_name", &big),
                    ("new_organization", "Big"),
                ],
            )
            .await;
        assert_eq!(res.status(), 413, "{path}");
        assert!(res.text().await.unwrap().contains("Request too large"));
    }
    assert_eq!(app.count_users().await, 0);
}

async fn invalid_utf8_is_a_4xx_and_never_a_500(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let token = app.csrf_token("/login").await;
    let mut body =
        format!("csrf_token={token}&tenant=acme&email=ada%40acme.test&password=").into_bytes();
    body.extend_from_slice(&[0xff, 0xfe, 0x80, b'%', b'F', b'F']);
    for path in ["/login", "/register"] {
        let res = app
            .client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
    }
    let res = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(app.count_users().await, 1);
}

async fn a_ten_thousand_character_password_is_refused_politely(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let long = "p".repeat(10_000);
    let res = app.login("acme", "ada@acme.test", &long, "/").await;
    assert_eq!(res.status(), 401);
    let token = app.csrf_token("/register").await;
    let res = app
        .post_form(
            "/register",
            &[
                ("csrf_token", token.as_str()),
                ("first_name", "A"),
                ("last_name", "B"),
                ("email", "long@x.test"),
                ("password", &long),
                ("password_confirm", &long),
                ("new_organization", "Long Inc"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("Use at most 128 characters."));
    assert!(!body.contains(&long));
    assert_eq!(app.count_users().await, 1);
    assert_eq!(app.count_tenants().await, 1);
    // The right password still works afterwards.
    assert_eq!(
        app.login("acme", "ada@acme.test", PASSWORD, "/")
            .await
            .status(),
        303
    );
}
