//! The password-reset journey in a real browser (issue 11): a user who forgot the
//! password opens the expense page, is sent to sign in, follows "Forgot your password?",
//! asks for a link, reads the mail that auth-service sent to the stack's real SMTP
//! server, opens the link, chooses a new password, and ends on the expense page signed in.

use fantoccini::Locator;

use test_support::stack::DOMAIN;

use super::browser::browser;
use super::{TENANT, demo_stack};

const NEW_PASSWORD: &str = "a new and long passphrase";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_mail_reset_and_back_on_the_expense_page() {
    let Some(mut b) = browser("journey_reset").await else {
        return;
    };
    let (stack, (email, old_password)) = demo_stack(None, &[]).await;
    let home = format!("{}/", stack.exp_url(TENANT, ""));

    // 1. The expense page sends the browser to sign in; the user forgot the password.
    b.client.goto(&home).await.expect("goto");
    let url = b.url().await;
    assert_eq!(
        url.host_str(),
        Some(format!("auth.{DOMAIN}").as_str()),
        "{url}"
    );
    assert_eq!(url.path(), "/login");
    b.shot("login").await;
    b.client
        .find(Locator::Css("a#forgot-link"))
        .await
        .expect("a forgot-password link")
        .click()
        .await
        .expect("click");
    b.client
        .wait()
        .for_element(Locator::Css("form[action='/password/forgot']"))
        .await
        .expect("the forgot page");

    // 2. Ask for a link: the page answers the same whatever the account.
    b.fill("input[name=tenant]", TENANT).await;
    b.fill("input[name=email]", &email).await;
    b.shot("forgot-form").await;
    b.submit("form[action='/password/forgot'] button[type=submit]")
        .await;
    // The answer page (submit only waited for some body, maybe still the form's).
    b.client
        .wait()
        .for_element(Locator::Css("#sent-notice"))
        .await
        .expect("the answer");
    let body = b.text().await;
    assert!(body.contains("If an active account"), "{body}");
    b.shot("forgot-sent").await;

    // 3. The mail arrives at the real SMTP server; its link is on auth-service's PUBLIC_URL.
    let mail = stack.smtp.wait_for(&email).await;
    let link = mail.link("/password/reset?token=");
    assert!(
        link.starts_with(&stack.auth_url("/password/reset?token=")),
        "{link}"
    );

    // 4. Open it, choose a new password: signed in on the auth host's account page.
    b.client.goto(&link).await.expect("goto the mailed link");
    b.shot("reset-form").await;
    b.fill("input[name=password]", NEW_PASSWORD).await;
    b.fill("input[name=password_confirm]", NEW_PASSWORD).await;
    b.submit("form[action='/password/reset'] button[type=submit]")
        .await;
    b.client
        .wait()
        .for_element(Locator::Css("form#password-form"))
        .await
        .expect("the account page");
    let url = b.url().await;
    assert_eq!(
        url.host_str(),
        Some(format!("auth.{DOMAIN}").as_str()),
        "{url}"
    );
    assert_eq!(url.path(), "/", "{url}: {}", b.text().await);
    assert!(b.text().await.contains(&email));
    b.shot("reset-signed-in").await;

    // 5. Back on the expense page, signed in, without another form.
    b.client.goto(&home).await.expect("goto");
    assert_eq!(b.url().await.as_str(), home);
    let body = b.text().await;
    assert!(body.contains("Olivia"), "signed-in user shown: {body}");
    b.shot("expenses-signed-in").await;

    // The mailed link was single use, and the old password no longer signs in.
    b.client.goto(&link).await.expect("goto");
    assert!(b.text().await.contains("This link does not work"));
    let api = stack.browser();
    let create = |password: &str| {
        serde_json::json!({"tenant_slug": TENANT, "email": email, "password": password}).to_string()
    };
    for (password, expected) in [(old_password.as_str(), 401), (NEW_PASSWORD, 200)] {
        let res = api
            .client
            .post(stack.auth_url("/api/v1/auth/jwt/create/"))
            .header("content-type", "application/json")
            .body(create(password))
            .send()
            .await
            .expect("jwt/create");
        assert_eq!(res.status().as_u16(), expected);
    }

    b.client.clone().close().await.expect("close");
}
