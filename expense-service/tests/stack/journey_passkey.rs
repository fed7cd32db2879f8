//! The passkey journey in a real browser (issue 15): the demo owner signs in with the
//! password, adds a passkey on the account's two-step page (Chromium's virtual
//! authenticator — a CTAP2 platform authenticator with resident keys and user
//! verification, added through chromedriver's WebAuthn extension), signs out, and signs
//! in again with "Sign in with a passkey" — no organization, address or password — to
//! land on the expense page.
//!
//! WebAuthn needs a secure context, and the stack serves plain HTTP on
//! `auth.example.test`: Chromium is told to treat that one origin as secure
//! (`--unsafely-treat-insecure-origin-as-secure`). The RP ID is the stack's
//! `COOKIE_DOMAIN` (`example.test`), of which the auth host is a subdomain.

use fantoccini::Locator;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::json;

use test_support::stack::DOMAIN;

use super::browser::browser_with;
use super::{TENANT, demo_stack};

/// `POST /session/{id}/webauthn/authenticator` (WebAuthn Level 2, §11.3).
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        (http::Method::POST, Some(body.to_string()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_passkey_sign_out_and_sign_in_with_it_alone() {
    let (stack, owner) = demo_stack(None, &[]).await;
    let secure = format!(
        "--unsafely-treat-insecure-origin-as-secure={}",
        stack.auth_url("")
    );
    let Some(mut b) = browser_with("journey_passkey", &[secure]).await else {
        return;
    };
    b.client
        .issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("chromedriver adds a virtual authenticator");
    let home = format!("{}/", stack.exp_url(TENANT, ""));

    // 1. Signed in with the password, via the expense page.
    b.client.goto(&home).await.expect("goto");
    b.sign_in(&owner).await;
    assert_eq!(b.url().await.as_str(), home, "{}", b.text().await);

    // 2. Add a passkey on the account's two-step page.
    b.client
        .goto(&stack.auth_url("/account/mfa"))
        .await
        .expect("goto");
    b.shot("mfa-page").await;
    b.fill("input#passkey-name", "Laptop").await;
    b.submit("#passkey-add-button").await;
    b.client
        .wait()
        .for_element(Locator::Css("td.passkey-name"))
        .await
        .unwrap_or_else(|e| panic!("the passkey row: {e}"));
    let body = b.text().await;
    assert!(body.contains("Passkey “Laptop” added."), "{body}");
    b.shot("passkey-added").await;

    // 3. Sign out.
    b.client
        .goto(&format!("{}/logout", stack.auth_url("")))
        .await
        .expect("goto");
    b.submit("main form[action='/logout'] button[type=submit]")
        .await;
    assert_eq!(b.url().await.path(), "/login");

    // 4. The expense page sends the browser to sign in; "Sign in with a passkey".
    b.client.goto(&home).await.expect("goto");
    let url = b.url().await;
    assert_eq!(
        url.host_str(),
        Some(format!("auth.{DOMAIN}").as_str()),
        "{url}"
    );
    assert_eq!(url.path(), "/login");
    b.shot("login-with-passkey-button").await;
    b.submit("#passkey-login-button").await;
    let url = b.url().await;
    assert_eq!(url.as_str(), home, "{url}: {}", b.text().await);
    let body = b.text().await;
    assert!(body.contains("Olivia"), "signed in as the owner: {body}");
    b.shot("expenses-signed-in-with-passkey").await;

    // The access cookie says how: a passkey alone (hardware key, multi-factor).
    let access = b
        .client
        .get_all_cookies()
        .await
        .expect("cookies")
        .into_iter()
        .find(|c| c.name() == "access_token")
        .map(|c| c.value().to_owned())
        .expect("an access cookie");
    let payload = access.split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .expect("base64url"),
    )
    .expect("JSON claims");
    assert_eq!(claims["amr"], json!(["hwk", "mfa"]));

    b.client.clone().close().await.expect("close");
}
