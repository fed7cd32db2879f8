//! Sign-out and the account page: cookies deleted with the same Domain and Path, the
//! family revoked, sessions listed and revoked, sign out everywhere.

use crate::api::helpers::{
    Backend, PASSWORD, TestApp, csrf_from, find_cookie, location, plain_client, raw_cookie,
};
use test_support::db_tests;

db_tests!(
    sign_out_deletes_both_cookies_and_revokes_the_family,
    sign_out_in_the_secure_configuration_repeats_domain_and_path,
    the_account_page_lists_sessions_and_revokes_one,
    sign_out_everywhere_revokes_every_session,
    the_account_page_refreshes_inline_when_the_access_cookie_is_gone,
    signing_in_or_up_again_ends_this_browsers_previous_sign_in,
);

async fn sign_out_deletes_both_cookies_and_revokes_the_family(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let refresh = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let page = app.get("/logout").await;
    assert_eq!(page.status(), 200);
    let token = csrf_from(&page.text().await.unwrap());
    let res = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    let access = raw_cookie(&res, "access_token").unwrap();
    let refresh_removal = raw_cookie(&res, "refresh_token").unwrap();
    for raw in [&access, &refresh_removal] {
        assert!(
            raw.contains("Max-Age=0") && raw.contains("Path=/") && !raw.contains("Domain"),
            "{raw}"
        );
    }
    assert_eq!(app.count_events("logout").await, 1);
    // The old refresh token no longer works.
    let res = plain_client()
        .get(app.url("/refresh"))
        .header("cookie", format!("refresh_token={refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login");
    // Signed out: the account page sends to the sign-in form.
    assert_eq!(location(&app.get("/").await), "/login");
}

async fn sign_out_in_the_secure_configuration_repeats_domain_and_path(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.public_url = "https://auth.example.test".parse().unwrap();
        s.cookie_domain = Some("example.test".into());
        s.cookie_secure = true;
    })
    .await;
    let client = plain_client();
    let form = client
        .get(app.url("/logout?next=https://expenses.example.test/"))
        .send()
        .await
        .unwrap();
    let pre = find_cookie(&form, "__Host-auth_csrf").unwrap();
    let body = form.text().await.unwrap();
    assert!(body.contains("name=\"next\" value=\"https://expenses.example.test/\""));
    let res = client
        .post(app.url("/logout"))
        .header("cookie", format!("{}={}", pre.name(), pre.value()))
        .form(&[
            ("csrf_token", csrf_from(&body).as_str()),
            ("next", "https://expenses.example.test/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "https://expenses.example.test/");
    let access = raw_cookie(&res, "__Secure-access_token").unwrap();
    assert!(
        access.contains("Domain=example.test")
            && access.contains("Path=/")
            && access.contains("Max-Age=0")
    );
    let refresh = raw_cookie(&res, "__Host-refresh_token").unwrap();
    assert!(
        !refresh.contains("Domain") && refresh.contains("Path=/") && refresh.contains("Max-Age=0")
    );
}

async fn the_account_page_lists_sessions_and_revokes_one(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    app.acme().await;
    // Another browser signs in first.
    let other = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let other_refresh = find_cookie(&other, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    app.client = crate::api::helpers::browser();
    app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("Grace Hopper")
            && body.contains("ada@acme.test")
            && body.contains(">member<")
    );
    assert_eq!(body.matches("/revoke\"").count(), 2, "{body}");
    assert!(body.contains("this browser"));
    let token = csrf_from(&body);
    // Revoke the other browser's session (the row without the badge).
    let rows: Vec<&str> = body.split("<tr>").skip(2).collect();
    let other_row = rows.iter().find(|r| !r.contains("this browser")).unwrap();
    let action = other_row
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let res = app.post_form(action, &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let res = plain_client()
        .get(app.url("/refresh"))
        .header("cookie", format!("refresh_token={other_refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&res),
        "/login",
        "the revoked session cannot refresh"
    );
    let body = app.get("/").await.text().await.unwrap();
    assert_eq!(body.matches("/revoke\"").count(), 1);
    // Someone else's or a made-up session id is not found.
    let res = app
        .post_form(
            "/sessions/00000000-0000-0000-0000-000000000000/revoke",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status(), 404);
}

async fn sign_out_everywhere_revokes_every_session(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    app.acme().await;
    let other = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let other_refresh = find_cookie(&other, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    app.client = crate::api::helpers::browser();
    app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let token = csrf_from(&app.get("/").await.text().await.unwrap());
    let res = app
        .post_form("/logout/all", &[("csrf_token", &token)])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert!(
        raw_cookie(&res, "refresh_token")
            .unwrap()
            .contains("Max-Age=0")
    );
    let res = plain_client()
        .get(app.url("/refresh"))
        .header("cookie", format!("refresh_token={other_refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login");
    assert_eq!(app.count_events("logout_all").await, 1);
}

async fn the_account_page_refreshes_inline_when_the_access_cookie_is_gone(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let refresh = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let res = plain_client()
        .get(app.url("/"))
        .header("cookie", format!("refresh_token={refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(find_cookie(&res, "access_token").is_some());
    assert!(find_cookie(&res, "refresh_token").is_some());
    // Nobody signed in at all: to the form.
    let res = plain_client().get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
}

async fn signing_in_or_up_again_ends_this_browsers_previous_sign_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let first = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let first = find_cookie(&first, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    // A signed-in browser is sent on from GET /login; the token of any form will do.
    let token = app.csrf_token("/register").await;
    let second = app
        .post_form(
            "/login",
            &[
                ("csrf_token", token.as_str()),
                ("tenant", "acme"),
                ("email", "ada@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let second = find_cookie(&second, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let refresh = |token: String| {
        let url = app.url("/refresh");
        async move {
            let res = plain_client()
                .get(url)
                .header("cookie", format!("refresh_token={token}"))
                .send()
                .await
                .unwrap();
            location(&res)
        }
    };
    assert_eq!(
        refresh(first).await,
        "/login",
        "the replaced sign-in is over"
    );
    app.register("new@acme.test", "acme", "", "/").await;
    assert_eq!(refresh(second).await, "/login");
}
