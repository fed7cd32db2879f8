//! Address verification through a real SMTP server: the link mailed at every sign-up,
//! the `domains:` policy's "no sign-in or token until verified" (page, JSON, refresh),
//! the resend page's one answer and cap, and tokens of the wrong kind.

use auth_service::accounts::links::{self, NewLink};
use auth_service::entities::link_token::LinkKind;
use auth_service::entities::user;
use auth_service::infra::audit::EventContext;
use auth_service::tenants::SignupPolicy;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::helpers::*;
use super::json_helpers::{authed, post, tokens};
use super::lifecycle_helpers::*;
use test_support::db_tests;

db_tests!(
    lifecycle_signup_mails_a_link_that_verifies_the_address,
    lifecycle_domain_policy_account_signs_in_only_once_verified,
    lifecycle_resend_answers_the_same_and_is_capped,
    lifecycle_unverified_domain_account_cannot_refresh,
    lifecycle_links_of_another_kind_are_refused,
);

async fn by_email(app: &TestApp, email: &str) -> user::Model {
    user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn lifecycle_signup_mails_a_link_that_verifies_the_address(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.tenant("acme", SignupPolicy::Open, 10).await;
    // An open tenant: signed in at once, address not yet verified.
    let res = app.register("ada@acme.test", "acme", "", "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!by_email(&app, "ada@acme.test").await.email_verified);
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    let claims = app.state.verifier.verify(&access).unwrap();
    assert!(!claims.email_verified);
    let (_, me) = authed(&app, Method::GET, "/api/v1/auth/users/me/", &access, None).await;
    assert_eq!(me["email_verified"], json!(false));

    let mail = app.mail().wait_for("ada@acme.test").await;
    assert_eq!(mail.subject, "Confirm your address");
    let path = mailed_path(&mail, "/verify-email?token=");
    let res = app.get(&path).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    assert!(by_email(&app, "ada@acme.test").await.email_verified);
    assert_eq!(app.count_events("email_verified").await, 1);
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    assert!(app.state.verifier.verify(&access).unwrap().email_verified);
    let (_, me) = authed(&app, Method::GET, "/api/v1/auth/users/me/", &access, None).await;
    assert_eq!(me["email_verified"], json!(true));
    // Used: the 400 page offers a new link.
    let res = app.get(&path).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("href=\"/verify-email/resend\"")
    );

    // The JSON sign-up (a new organization) is mailed a link too.
    let (status, _) = post(
        &app,
        "/api/v1/auth/users/",
        json!({"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.test",
               "password": PASSWORD, "organization_name": "Navy"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let mail = app.mail().wait_for("grace@navy.test").await;
    mailed_path(&mail, "/verify-email?token=");
}

async fn lifecycle_domain_policy_account_signs_in_only_once_verified(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    let policy = "domains:acme.test".parse::<SignupPolicy>().unwrap();
    app.tenant("acme", policy, 10).await;
    // Created, not signed in: "check your mail".
    let res = app.register("x@acme.test", "acme", "", "/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookies(&res)
            .iter()
            .all(|c| !c.name().contains("token"))
    );
    assert!(res.text().await.unwrap().contains("Check your mail"));
    let first = app.mail().wait_for("x@acme.test").await;

    // A wrong password is the generic 401; only the right one learns about the address.
    assert_eq!(
        signs_in(&app, "acme", "x@acme.test", "wrong password!").await,
        StatusCode::UNAUTHORIZED
    );
    let res = app.login("acme", "x@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(find_cookie(&res, app.state.cookies.access_name()).is_none());
    let body = res.text().await.unwrap();
    assert!(body.contains("confirm your address first"), "{body}");
    assert!(body.contains("action=\"/verify-email/resend\""), "{body}");
    let (status, body) = post(
        &app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": "acme", "email": "x@acme.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "email_not_verified");
    assert!(body["detail"].is_string());
    let (status, body) = post(
        &app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": "acme", "email": "x@acme.test", "password": "wrong password!"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // The resend form of the 403 page: a new link replaces the first.
    let notice = ask(
        &app,
        &app.client,
        "/verify-email/resend",
        "acme",
        "x@acme.test",
    )
    .await;
    assert!(notice.contains("new link"), "{notice}");
    let second = app.mail().wait_for_nth("x@acme.test", 2).await;
    let old = mailed_path(&first, "/verify-email?token=");
    assert_eq!(app.get(&old).await.status(), StatusCode::BAD_REQUEST);
    assert!(!by_email(&app, "x@acme.test").await.email_verified);
    let res = app.get(&mailed_path(&second, "/verify-email?token=")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Now it signs in, and the token says the address is verified.
    let res = app.login("acme", "x@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (access, _) = tokens(&app, "acme", "x@acme.test").await;
    assert!(app.state.verifier.verify(&access).unwrap().email_verified);
}

async fn lifecycle_resend_answers_the_same_and_is_capped(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    let (_, _verified_by_operator) = app.acme().await;
    app.register("new@acme.test", "acme", "", "/").await;
    app.mail().wait_for("new@acme.test").await;
    let client = browser();
    let page = "/verify-email/resend";
    let one = ask(&app, &client, page, "acme", "new@acme.test").await;
    let long = "b".repeat(3000);
    for (slug, email) in [
        ("acme", "ada@acme.test"), // already verified
        ("acme", "nobody@acme.test"),
        ("nowhere", "new@acme.test"),
        (long.as_str(), long.as_str()),
    ] {
        assert_eq!(
            ask(&app, &client, page, slug, email).await,
            one,
            "{slug} {email}"
        );
    }
    app.mail().assert_none_to("ada@acme.test", SETTLE).await;
    // The sign-up's mail counts: sign-up + 2 resends = 3 in the hour, then nothing.
    app.mail().wait_for_nth("new@acme.test", 2).await;
    assert_eq!(ask(&app, &client, page, "acme", "new@acme.test").await, one);
    app.mail().wait_for_nth("new@acme.test", 3).await;
    assert_eq!(ask(&app, &client, page, "acme", "new@acme.test").await, one);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(app.mail().messages_to("new@acme.test").len(), 3);
    assert_eq!(app.count_events("verification_sent").await, 3);
    // Without the CSRF token: refused.
    let res = app
        .post_form(page, &[("tenant", "acme"), ("email", "new@acme.test")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn lifecycle_unverified_domain_account_cannot_refresh(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    let policy = "domains:acme.test".parse::<SignupPolicy>().unwrap();
    let acme = app.tenant("acme", policy, 10).await;
    app.register("x@acme.test", "acme", "", "/").await;
    let x = by_email(&app, "x@acme.test").await;
    assert!(x.awaits_verification());
    // A session that should never have existed (say, from before the policy's rule).
    let session = app
        .state
        .sessions
        .start(&app.state.db, x, acme, &EventContext::default())
        .await
        .unwrap();
    let (status, body) = post(
        &app,
        "/api/v1/auth/jwt/refresh/",
        json!({"refresh": session.refresh_token}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

async fn lifecycle_links_of_another_kind_are_refused(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.tenant("acme", SignupPolicy::Open, 10).await;
    app.register("ada@acme.test", "acme", "", "/").await;
    let ada = by_email(&app, "ada@acme.test").await;
    let (_, reset_token) = links::issue(
        &app.state.db,
        NewLink {
            kind: LinkKind::PasswordReset,
            tenant_id: ada.tenant_id,
            user_id: Some(ada.id),
            email: ada.email.clone(),
            role: None,
            created_by: None,
        },
    )
    .await
    .unwrap();
    let (_, invitation) = links::issue(
        &app.state.db,
        NewLink {
            kind: LinkKind::Invitation,
            tenant_id: ada.tenant_id,
            user_id: None,
            email: "someone@acme.test".to_owned(),
            role: Some(auth_service::entities::user::UserRole::Member),
            created_by: None,
        },
    )
    .await
    .unwrap();
    for token in [reset_token.as_str(), invitation.as_str(), "", "zz"] {
        let res = app.get(&format!("/verify-email?token={token}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{token}");
        let (status, body) = post(
            &app,
            "/api/v1/auth/users/activation/",
            json!({"token": token}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(
        app.get(&format!("/password/reset?token={invitation}"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert!(!by_email(&app, "ada@acme.test").await.email_verified);
    // The verification link still works after all that.
    let path = mailed_path(
        &app.mail().wait_for("ada@acme.test").await,
        "/verify-email?token=",
    );
    assert_eq!(app.get(&path).await.status(), StatusCode::SEE_OTHER);
}
