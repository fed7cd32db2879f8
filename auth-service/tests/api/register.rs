//! Sign-up: new organization (owner), joining an open one (member), refusals.

use auth_service::accounts::signup::JOIN_REFUSED;
use auth_service::tenants::SignupPolicy;
use shared_jwt::Role;

use crate::api::helpers::{Backend, PASSWORD, TestApp, find_cookie, location};
use test_support::db_tests;

db_tests!(
    sign_up_with_a_new_organization_makes_its_owner,
    a_taken_or_reserved_derived_slug_gets_a_suffix_instead_of_an_error,
    sign_up_joining_an_open_organization_makes_a_member,
    a_domain_list_admits_only_its_domains,
    full_and_invite_only_organizations_refuse_with_one_clear_message,
    field_errors_re_render_with_422_keeping_what_was_typed_except_passwords,
);

/// The refusal text as the page shows it (askama escapes the apostrophe).
fn refused_html() -> String {
    JOIN_REFUSED.replace('\'', "&#39;")
}

async fn sign_up_with_a_new_organization_makes_its_owner(b: Backend) {
    let app = TestApp::spawn(b).await;
    let res = app.register("grace@navy.test", "", "Navy Labs", "/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    assert!(find_cookie(&res, "access_token").is_some());
    assert!(find_cookie(&res, "refresh_token").is_some());
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("Navy Labs"), "{body}");
    assert!(body.contains("<code>navy-labs</code>"));
    assert!(body.contains(">owner<"));
    assert_eq!(app.count_events("signup").await, 1);
}

async fn a_taken_or_reserved_derived_slug_gets_a_suffix_instead_of_an_error(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tenant("acme", SignupPolicy::InviteOnly, 5).await;
    let res = app.register("boss@acme2.test", "", "ACME", "/").await;
    assert_eq!(res.status(), 303);
    let body = app.get("/").await.text().await.unwrap();
    assert!(body.contains("<code>acme-"), "{body}");
    let other = TestApp::spawn(b).await;
    let res = other.register("x@admin.test", "", "Admin", "/").await;
    assert_eq!(res.status(), 303);
    let body = other.get("/").await.text().await.unwrap();
    assert!(body.contains("<code>admin-"), "{body}");
}

async fn sign_up_joining_an_open_organization_makes_a_member(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    app.tenant("acme", SignupPolicy::Open, 10).await;
    let res = app.register("new@anywhere.test", "acme", "", "/").await;
    assert_eq!(res.status(), 303);
    let body = app.get("/").await.text().await.unwrap();
    assert!(body.contains(">member<"), "{body}");
    assert!(body.contains("Org acme"));
    // The same address may hold a separate account in another tenant.
    app.tenant("globex", SignupPolicy::Open, 10).await;
    app.client = crate::api::helpers::browser();
    let res = app.register("NEW@anywhere.test", "globex", "", "/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.count_users().await, 2);
}

async fn a_domain_list_admits_only_its_domains(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tenant("acme", SignupPolicy::Domains(vec!["acme.test".into()]), 10)
        .await;
    let res = app.register("eve@evil.test", "acme", "", "/").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains(&refused_html()));
    // Admitted, but a typed address proves nothing: not signed in until the mailed link
    // is used (tests/api/lifecycle_verify.rs follows it).
    let res = app.register("ok@ACME.test", "acme", "", "/").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Check your mail"));
    assert_eq!(app.count_users().await, 1);
}

async fn full_and_invite_only_organizations_refuse_with_one_clear_message(b: Backend) {
    let app = TestApp::spawn(b).await;
    let full = app.tenant("full", SignupPolicy::Open, 1).await;
    app.user(&full, "first@full.test", Role::Owner).await;
    app.tenant("closed", SignupPolicy::InviteOnly, 10).await;
    let (_, _) = app.acme().await;
    let before = app.count_users().await;

    let mut bodies = Vec::new();
    for (email, org) in [
        ("second@full.test", "full"),      // max_users reached
        ("someone@closed.test", "closed"), // invite only
        ("someone@x.test", "no-such-org"), // unknown organization
        ("ADA@acme.test", "acme"),         // already has an account there
    ] {
        let res = app.register(email, org, "", "/").await;
        assert_eq!(res.status(), 422, "{org}");
        let body = res.text().await.unwrap();
        assert!(body.contains(&refused_html()), "{org}: {body}");
        assert!(body.contains("aria-describedby=\"organization-hint organization-error\""));
        assert!(!body.contains(PASSWORD), "the password is never echoed");
        bodies.push(crate::api::helpers::alert(&body));
    }
    assert_eq!(app.count_users().await, before, "nothing was written");
    assert_eq!(app.count_events("signup_refused").await, 4);
}

async fn field_errors_re_render_with_422_keeping_what_was_typed_except_passwords(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.csrf_token("/register").await;
    let res = app
        .post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("first_name", "Ada"),
                ("last_name", ""),
                ("email", "not-an-email"),
                ("password", "password1"),
                ("password_confirm", "password2"),
                ("organization", "Bad Slug!"),
                ("new_organization", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("value=\"Ada\""));
    assert!(body.contains("value=\"not-an-email\""));
    assert!(!body.contains("password1") && !body.contains("password2"));
    assert!(body.contains("This field is required."));
    assert!(body.contains("Enter a valid email address."));
    assert!(body.contains("This password is too common; choose another."));
    assert!(body.contains("The passwords do not match."));
    assert!(body.contains("lowercase letters, digits or hyphens"));
    assert!(body.contains("id=\"email-error\""));
    assert!(body.contains("aria-invalid=\"true\" aria-describedby=\"email-error\""));
    assert_eq!(app.count_users().await, 0);
    assert_eq!(app.count_tenants().await, 0);

    // The email itself is refused as a password; both organization fields at once too.
    let token = app.csrf_token("/register").await;
    let res = app
        .post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("first_name", "Ada"),
                ("last_name", "L"),
                ("email", "ada.lovelace@x.test"),
                ("password", "ada.lovelace@x.test"),
                ("password_confirm", "ada.lovelace@x.test"),
                ("organization", "acme"),
                ("new_organization", "Acme"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("Do not use your email address as the password."));
    assert!(body.contains("Choose one: join an existing organization or create a new one."));
}
