//! The invitation journey in a real browser: the owner signs in, opens `/members` and
//! invites an address as member; the mail arrives at the stack's SMTP server; a second
//! browser profile (no session of the owner) opens the link, accepts, and lands on the
//! tenant's expense page signed in as the new member.

use fantoccini::Locator;

use super::browser::browser;
use super::{TENANT, demo_stack};

const INVITEE: &str = "nia.newcomer@acme.test";
const INVITEE_PASSWORD: &str = "lantern orchid quarry tulip";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_invites_and_the_invitee_joins_in_another_browser() {
    let Some(mut owner_browser) = browser("invite_owner").await else {
        return;
    };
    let (stack, owner) = demo_stack(None, &[]).await;

    // 1. The owner signs in on the auth host and opens the members page from the account page.
    let b = &mut owner_browser;
    b.client
        .goto(&stack.auth_url("/login"))
        .await
        .expect("goto");
    b.sign_in(&owner).await;
    assert_eq!(b.url().await.path(), "/", "{}", b.text().await);
    b.client
        .find(Locator::Css("a[href='/members']"))
        .await
        .expect("the account page links to /members")
        .click()
        .await
        .expect("click");
    b.client
        .wait()
        .for_element(Locator::Css("form[action='/members/invite']"))
        .await
        .expect("the invite form");
    assert_eq!(b.url().await.path(), "/members");
    b.shot("members").await;

    // 2. Invite an address as member.
    b.fill("form[action='/members/invite'] input[name=email]", INVITEE)
        .await;
    b.client
        .find(Locator::Css(
            "form[action='/members/invite'] select[name=role]",
        ))
        .await
        .expect("role select")
        .select_by_value("member")
        .await
        .expect("choose member");
    b.submit("form[action='/members/invite'] button[type=submit]")
        .await;
    // The click's navigation may not have settled when `submit` returns: wait for its URL.
    let done = url::Url::parse(&stack.auth_url("/members?done=invited")).expect("url");
    b.client
        .wait()
        .for_url(&done)
        .await
        .expect("back on /members");
    let body = b.text().await;
    assert!(body.contains("Invitation sent."), "{body}");
    assert!(body.contains(INVITEE), "listed as pending: {body}");
    b.shot("invited").await;

    // 3. The mail, read from the stack's SMTP server.
    let mail = stack.smtp.wait_for(INVITEE).await;
    let link = mail.link("/invite/accept?token=");
    assert!(
        link.starts_with(&stack.auth_url("/invite/accept?token=")),
        "{link}"
    );

    // 4. A second browser profile opens the link and accepts.
    let Some(mut invitee) = browser("invite_invitee").await else {
        return;
    };
    let b = &mut invitee;
    b.client.goto(&link).await.expect("goto the link");
    let body = b.text().await;
    assert!(body.contains(INVITEE), "{body}");
    b.shot("accept-form").await;
    b.fill("input[name=first_name]", "Nia").await;
    b.fill("input[name=last_name]", "Newcomer").await;
    b.fill("input[name=password]", INVITEE_PASSWORD).await;
    b.fill("input[name=password_confirm]", INVITEE_PASSWORD)
        .await;
    b.submit("form[action^='/invite/accept'] button[type=submit]")
        .await;
    let account = url::Url::parse(&stack.auth_url("/")).expect("url");
    b.client
        .wait()
        .for_url(&account)
        .await
        .expect("signed in on the account page");
    let url = b.url().await;
    assert_eq!(
        url.path(),
        "/",
        "signed in on the account page: {}",
        b.text().await
    );
    let body = b.text().await;
    assert!(
        body.contains("Nia Newcomer") && body.contains("member"),
        "{body}"
    );
    b.shot("accepted").await;

    // 5. The expense page of the tenant, signed in as the new member.
    let home = format!("{}/", stack.exp_url(TENANT, ""));
    b.client.goto(&home).await.expect("goto");
    let home_url = url::Url::parse(&home).expect("url");
    b.client
        .wait()
        .for_url(&home_url)
        .await
        .expect("the expense page");
    let body = b.text().await;
    assert!(body.contains("Nia"), "the new member is signed in: {body}");
    b.shot("expenses-as-member").await;

    // The link was single use.
    b.client.goto(&link).await.expect("goto the link again");
    assert!(b.text().await.contains("ask the person who invited you"));

    invitee.client.clone().close().await.expect("close");
    owner_browser.client.clone().close().await.expect("close");
}
