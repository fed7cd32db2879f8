//! Password reset by e-mail through a real SMTP server: the forgot page's one answer,
//! the mailed link, the reset (every session ended, lock cleared, address verified,
//! signed in), the per-account cap, bad tokens of every kind, and a mail server that is
//! down while the reset is asked for.

use std::time::Duration;

use auth_service::accounts::links::{self, NewLink};
use auth_service::entities::link_token::LinkKind;
use auth_service::entities::user;
use auth_service::tenants::SignupPolicy;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;
use shared_jwt::Role;

use super::helpers::*;
use super::json_helpers::{post, tokens};
use super::lifecycle_helpers::*;
use test_support::db_tests;

db_tests!(
    lifecycle_reset_by_mail_signs_in_and_ends_every_session,
    lifecycle_forgot_answers_the_same_whatever_the_account,
    lifecycle_reset_mails_are_capped_per_account,
    lifecycle_bad_reset_links_change_nothing,
    lifecycle_reset_clears_the_lock,
    lifecycle_reset_asked_while_the_mail_server_is_down_arrives_later,
);

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn stored(app: &TestApp, id: uuid::Uuid) -> user::Model {
    user::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn lifecycle_reset_by_mail_signs_in_and_ends_every_session(b: Backend) {
    let app = TestApp::spawn_with_mail(b, |_| {}).await;
    let (_, ada) = app.acme().await;
    // Two sign-ins that the reset must end: a JSON pair and another browser.
    let (_, refresh) = tokens(&app, "acme", "ada@acme.test").await;
    let other = browser();
    let csrf = csrf_from(
        &other
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let res = other
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("tenant", "acme"),
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let notice = forgot(&app, "acme", "Ada@Acme.test").await;
    assert!(notice.contains("If an active account"), "{notice}");
    let mail = app.mail().wait_for("ada@acme.test").await;
    assert_eq!(mail.subject, "Reset your password");
    assert!(mail.text.contains("30 minutes"), "{}", mail.text);
    let path = mailed_path(&mail, "/password/reset?token=");

    let res = reset_with(&app, &app.client, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    assert!(find_cookie(&res, app.state.cookies.access_name()).is_some());
    // Signed in: the account page shows.
    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("ada@acme.test"));
    // Every earlier sign-in ended.
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/refresh/",
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = other.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    // The new password works, the old one does not; the link proved the address.
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", NEW_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert!(stored(&app, ada.id).await.email_verified);
    assert_eq!(app.count_events("password_reset_requested").await, 1);
    assert_eq!(app.count_events("password_reset_completed").await, 1);
    // Single use.
    let res = app.get(&path).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("href=\"/password/forgot\""), "{body}");
}

async fn lifecycle_forgot_answers_the_same_whatever_the_account(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    let (acme, _) = app.acme().await;
    let gone = app.user(&acme, "gone@acme.test", Role::Member).await;
    auth_service::users::set_active(&app.state.db, gone.id, false)
        .await
        .unwrap();
    let closed = app.tenant("closed", SignupPolicy::Open, 10).await;
    app.user(&closed, "ada@closed.test", Role::Member).await;
    auth_service::tenants::set_active(&app.state.db, closed.id, false)
        .await
        .unwrap();

    let known = forgot(&app, "acme", "ada@acme.test").await;
    let long = "a".repeat(5000);
    for (slug, email) in [
        ("acme", "nobody@acme.test"),
        ("nowhere", "ada@acme.test"),
        ("acme", "gone@acme.test"),
        ("closed", "ada@closed.test"),
        (long.as_str(), long.as_str()),
        ("", ""),
    ] {
        assert_eq!(forgot(&app, slug, email).await, known, "{slug} {email}");
    }
    app.mail().wait_for("ada@acme.test").await;
    for address in ["nobody@acme.test", "gone@acme.test", "ada@closed.test"] {
        app.mail().assert_none_to(address, SETTLE).await;
    }
    assert_eq!(app.count_events("password_reset_requested").await, 1);
    // Without the CSRF token: refused, nothing sent.
    let res = app
        .post_form(
            "/password/forgot",
            &[("tenant", "acme"), ("email", "ada@acme.test")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(app.mail().messages_to("ada@acme.test").len(), 1);
}

async fn lifecycle_reset_mails_are_capped_per_account(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.acme().await;
    let first = forgot(&app, "acme", "ada@acme.test").await;
    for n in 2..=3 {
        // One at a time, so that each request is counted before the next.
        app.mail().wait_for_nth("ada@acme.test", n - 1).await;
        assert_eq!(forgot(&app, "acme", "ada@acme.test").await, first);
    }
    let mails = app
        .mail()
        .wait_for_count("ada@acme.test", 3, Duration::from_secs(15))
        .await;
    // Only the newest link works.
    let old = mailed_path(&mails[0], "/password/reset?token=");
    assert_eq!(app.get(&old).await.status(), StatusCode::BAD_REQUEST);
    // The fourth request in the hour: the same answer, no mail.
    assert_eq!(forgot(&app, "acme", "ada@acme.test").await, first);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(app.mail().messages_to("ada@acme.test").len(), 3);
    assert_eq!(app.count_events("password_reset_requested").await, 3);
}

async fn lifecycle_bad_reset_links_change_nothing(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    let (acme, ada) = app.acme().await;
    let before = stored(&app, ada.id).await;
    let issue = |kind| NewLink {
        kind,
        tenant_id: acme.id,
        user_id: Some(ada.id),
        email: ada.email.clone(),
        role: None,
        created_by: None,
    };
    // Another kind of token, an expired one, an unknown one, an overlong one.
    let (_, verify_token) = links::issue(&app.state.db, issue(LinkKind::VerifyEmail))
        .await
        .unwrap();
    let (row, expired) = links::issue(&app.state.db, issue(LinkKind::PasswordReset))
        .await
        .unwrap();
    let mut old = row.into_active_model();
    old.expires_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
    old.update(&app.state.db).await.unwrap();
    let long = "x".repeat(5000);
    for token in [
        verify_token.as_str(),
        expired.as_str(),
        "nope",
        long.as_str(),
        "",
    ] {
        let res = app.get(&format!("/password/reset?token={token}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{token}");
        let body = res.text().await.unwrap();
        assert!(body.contains("Ask for a new link"), "{body}");
        let csrf = app.csrf_token("/login").await;
        let res = app
            .post_form(
                "/password/reset",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("token", token),
                    ("password", NEW_PASSWORD),
                    ("password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{token}");
    }
    // A good link: a weak or mismatched password re-renders (422) and keeps the link.
    forgot(&app, "acme", "ada@acme.test").await;
    let path = mailed_path(
        &app.mail().wait_for("ada@acme.test").await,
        "/password/reset?token=",
    );
    let res = reset_with(&app, &app.client, &path, "short", "short").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = reset_with(&app, &app.client, &path, NEW_PASSWORD, "something else").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The passwords do not match.")
    );
    // Without the CSRF token: refused.
    let token = path.split("token=").nth(1).unwrap();
    let res = plain_client()
        .post(app.url("/password/reset"))
        .form(&[
            ("token", token),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let after = stored(&app, ada.id).await;
    assert_eq!(after, before, "nothing changed");
    assert_eq!(app.count_events("password_reset_completed").await, 0);
    // The link still works.
    let res = reset_with(&app, &app.client, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

async fn lifecycle_reset_clears_the_lock(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.acme().await;
    let mut locked = false;
    for _ in 0..20 {
        let status = signs_in(&app, "acme", "ada@acme.test", "wrong password!").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            locked = true;
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(locked, "the account was never locked");
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    forgot(&app, "acme", "ada@acme.test").await;
    let path = mailed_path(
        &app.mail().wait_for("ada@acme.test").await,
        "/password/reset?token=",
    );
    let res = reset_with(&app, &browser(), &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", NEW_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert!(app.count_events("throttle_cleared").await >= 1);
}

async fn lifecycle_reset_asked_while_the_mail_server_is_down_arrives_later(b: Backend) {
    let mut app = TestApp::spawn_with_mail(b, |_| {}).await;
    app.acme().await;
    let up = forgot(&app, "nowhere", "ada@acme.test").await;
    app.mail_mut().stop().await;
    // The page answers exactly as when the server is up.
    assert_eq!(forgot(&app, "acme", "ada@acme.test").await, up);
    app.mail_mut().start_again().await;
    let mail = app
        .mail()
        .wait_for_count("ada@acme.test", 1, Duration::from_secs(60))
        .await
        .remove(0);
    let path = mailed_path(&mail, "/password/reset?token=");
    let res = reset_with(&app, &app.client, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
