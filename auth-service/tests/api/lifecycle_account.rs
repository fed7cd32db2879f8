//! The account page's change forms: change password (other sign-ins end, this one
//! stays) and change email (a link to the new address; it changes only when the link
//! is used; the old address is told; a taken address changes nothing).

use auth_service::entities::user;
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use shared_jwt::Role;

use super::helpers::*;
use super::lifecycle_helpers::*;
use test_support::db_tests;

db_tests!(
    lifecycle_account_password_change_keeps_only_this_sign_in,
    lifecycle_account_email_changes_only_by_the_link_to_the_new_address,
    lifecycle_account_address_change_mails_are_capped_per_account,
);

/// A browser signed in as `email` of `acme`.
async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let csrf = csrf_from(
        &client
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let res = client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("tenant", "acme"),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    client
}

/// Posts an account-page form with the page's CSRF token.
async fn submit(
    app: &TestApp,
    client: &reqwest::Client,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_from(&page.text().await.unwrap());
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn lifecycle_account_password_change_keeps_only_this_sign_in(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.acme().await;
    let here = signed_in(&app, "ada@acme.test").await;
    let elsewhere = signed_in(&app, "ada@acme.test").await;
    let new = "another fine passphrase";
    // Wrong current password: re-rendered, nothing changed.
    let res = submit(
        &app,
        &here,
        "/account/password",
        &[
            ("current_password", "not my password"),
            ("new_password", new),
            ("new_password_confirm", new),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Invalid password."));
    let res = submit(
        &app,
        &here,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", new),
            ("new_password_confirm", "a typo"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // Without the CSRF token: refused.
    let res = here
        .post(app.url("/account/password"))
        .form(&[
            ("current_password", PASSWORD),
            ("new_password", new),
            ("new_password_confirm", new),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Right: changed; this browser stays signed in, the other is signed out.
    let res = submit(
        &app,
        &here,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", new),
            ("new_password_confirm", new),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your password was changed")
    );
    assert_eq!(
        here.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let res = elsewhere.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", new).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn lifecycle_account_email_changes_only_by_the_link_to_the_new_address(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    let (acme, ada) = app.acme().await;
    app.user(&acme, "taken@acme.test", Role::Member).await;
    let here = signed_in(&app, "ada@acme.test").await;
    let email_of = async || {
        user::Entity::find_by_id(ada.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
    };
    // A taken address, a wrong password, an invalid address: nothing changes or is sent.
    for (address, password, message) in [
        ("Taken@acme.test", PASSWORD, "already uses this address"),
        ("new@acme.test", "wrong password!", "Invalid password."),
        ("not an address", PASSWORD, "Enter a valid email address."),
    ] {
        let res = submit(
            &app,
            &here,
            "/account/email",
            &[("new_email", address), ("password", password)],
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{address}");
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "{address}: {body}");
    }
    app.mail().assert_none_to("taken@acme.test", SETTLE).await;
    app.mail()
        .assert_none_to("new@acme.test", std::time::Duration::ZERO)
        .await;
    assert_eq!(app.count_events("email_change_requested").await, 0);

    let res = submit(
        &app,
        &here,
        "/account/email",
        &[("new_email", "New@acme.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("We have sent a link to New@acme.test")
    );
    let mail = app.mail().wait_for("new@acme.test").await;
    assert_eq!(mail.subject, "Confirm your new address");
    // Not changed until the link is used.
    assert_eq!(email_of().await.email, "ada@acme.test");
    let path = mailed_path(&mail, "/verify-email?token=");
    let res = here.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let now = email_of().await;
    assert_eq!(now.email, "New@acme.test");
    assert_eq!(now.email_normalized, "new@acme.test");
    assert!(now.email_verified);
    // The old address is told.
    let notice = app.mail().wait_for("ada@acme.test").await;
    assert_eq!(notice.subject, "Your sign-in address was changed");
    assert!(notice.text.contains("New@acme.test"), "{}", notice.text);
    assert_eq!(app.count_events("email_change_requested").await, 1);
    assert_eq!(app.count_events("email_changed").await, 1);
    // The new address signs in, the old one no longer does; the link is spent.
    assert_eq!(
        signs_in(&app, "acme", "new@acme.test", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        signs_in(&app, "acme", "ada@acme.test", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&path).await.status(), StatusCode::BAD_REQUEST);
}

/// Changing the address to someone else's, again and again, cannot bomb them: at most
/// three change mails per account per hour, then a clear refusal and no mail.
async fn lifecycle_account_address_change_mails_are_capped_per_account(b: Backend) {
    let app = TestApp::spawn_with_mail(b, raise_rate_limits).await;
    app.acme().await;
    let here = signed_in(&app, "ada@acme.test").await;
    for n in 1..=3 {
        let res = submit(
            &app,
            &here,
            "/account/email",
            &[
                ("new_email", "victim@elsewhere.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "change {n}");
        app.mail().wait_for_nth("victim@elsewhere.test", n).await;
    }
    let res = submit(
        &app,
        &here,
        "/account/email",
        &[
            ("new_email", "victim@elsewhere.test"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("try again later"));
    tokio::time::sleep(SETTLE).await;
    assert_eq!(app.mail().messages_to("victim@elsewhere.test").len(), 3);
    assert_eq!(app.count_events("email_change_requested").await, 3);
}
