//! CSRF: a missing or wrong token, or a cross-site request, gets 403 and the form again.

use auth_service::web::csrf::CSRF_FAILED;

use crate::api::helpers::{Backend, PASSWORD, TestApp, find_cookie, plain_client};
use test_support::db_tests;

db_tests!(
    a_missing_or_wrong_csrf_token_is_refused_with_403_and_the_form,
    cross_site_requests_are_refused_even_with_a_valid_token,
);

async fn a_missing_or_wrong_csrf_token_is_refused_with_403_and_the_form(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let _ = app.csrf_token("/login").await; // the browser has a pre-session cookie
    for path in ["/login", "/register", "/logout", "/logout/all"] {
        for token in [None, Some("forged-token")] {
            let mut form = vec![
                ("tenant", "acme"),
                ("email", "ada@acme.test"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("first_name", "A"),
                ("last_name", "B"),
                ("new_organization", "Evil Inc"),
            ];
            if let Some(t) = token {
                form.push(("csrf_token", t));
            }
            let res = app.post_form(path, &form).await;
            assert_eq!(res.status(), 403, "{path} {token:?}");
            assert!(find_cookie(&res, "access_token").is_none());
            let body = res.text().await.unwrap();
            assert!(
                body.contains(&CSRF_FAILED.replace('\'', "&#39;")),
                "{path}: {body}"
            );
        }
    }
    // A token without its pre-session cookie (another browser) fails too.
    let token = app.csrf_token("/login").await;
    let res = plain_client()
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("tenant", "acme"),
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.count_users().await, 1);
    assert_eq!(app.count_events("login_success").await, 0);
}

async fn cross_site_requests_are_refused_even_with_a_valid_token(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let token = app.csrf_token("/login").await;
    let form = [
        ("csrf_token", token.as_str()),
        ("tenant", "acme"),
        ("email", "ada@acme.test"),
        ("password", PASSWORD),
    ];
    for (name, value) in [
        ("origin", "https://evil.test"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = app
            .client
            .post(app.url("/login"))
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
    }
    // Our own origin passes.
    let res = app
        .client
        .post(app.url("/login"))
        .header("origin", "http://localhost:8000")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}
