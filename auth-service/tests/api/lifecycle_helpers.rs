//! Helpers of the account-lifecycle tests: asking for links through the pages, and
//! following a mailed link (absolute, on `PUBLIC_URL`) on the test app like a person.

use std::time::Duration;

use reqwest::StatusCode;

use crate::api::helpers::{Delivered, TestApp, alert, browser, csrf_from};

/// How long the "no mail" checks give the spawned task and the worker.
pub const SETTLE: Duration = Duration::from_millis(1500);

/// The path and query of a mailed link (`http://localhost:8000/x?token=…` → `/x?token=…`).
pub fn path_of(link: &str) -> String {
    let rest = link.split_once("://").expect("an absolute link").1;
    rest[rest.find('/').expect("a path")..].to_owned()
}

/// The path of the first link in `mail` containing `part`.
pub fn mailed_path(mail: &Delivered, part: &str) -> String {
    let link = mail.link(part);
    assert!(link.starts_with("http://localhost:8000/"), "{link}");
    path_of(&link)
}

/// Submits an ask-for-a-link form (`/password/forgot`, `/verify-email/resend`) with
/// `client`; asserts the one answer (`200`) and returns the form-level notice.
pub async fn ask(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    slug: &str,
    email: &str,
) -> String {
    let body = client
        .get(app.url(page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_from(&body);
    let res = client
        .post(app.url(page))
        .form(&[
            ("csrf_token", token.as_str()),
            ("tenant", slug),
            ("email", email),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    alert(&res.text().await.unwrap())
}

/// `/password/forgot` with a fresh browser.
pub async fn forgot(app: &TestApp, slug: &str, email: &str) -> String {
    ask(app, &browser(), "/password/forgot", slug, email).await
}

/// Opens the reset link at `path` and submits `password` twice with `client`.
pub async fn reset_with(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    password: &str,
    confirm: &str,
) -> reqwest::Response {
    let page = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    let body = page.text().await.unwrap();
    let csrf = csrf_from(&body);
    let token = test_support::http::hidden_value(&body, "token").expect("a token field");
    client
        .post(app.url("/password/reset"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", token.as_str()),
            ("password", password),
            ("password_confirm", confirm),
        ])
        .send()
        .await
        .unwrap()
}

/// The status of a sign-in with `password` through the form (`303` = signed in), in a
/// fresh browser.
pub async fn signs_in(app: &TestApp, slug: &str, email: &str, password: &str) -> StatusCode {
    let client = browser();
    let body = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&body);
    client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("tenant", slug),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
}
