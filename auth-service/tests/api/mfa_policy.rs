//! The tenant policy after the sign-in: a refresh of a sign-in without a second factor is
//! refused once the policy covers the user (JSON `403 {"code": "mfa_required"}`, nothing
//! spent; the browser is sent to the sign-in), and `/members` shows who has a factor.

use auth_service::accounts::admin::Actor;
use auth_service::accounts::organization::{self, TenantChange};
use auth_service::entities::tenant::MfaPolicy;
use auth_service::entities::{passkey, user_totp};
use auth_service::infra::audit::EventContext;
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;
use shared_jwt::Role;
use uuid::Uuid;

use crate::api::helpers::{Backend, PASSWORD, TestApp, alert, csrf_from, find_cookie, location};
use crate::api::json_helpers::{post, tokens};
use test_support::db_tests;

db_tests!(
    mfa_policy_refuses_refreshing_a_sign_in_without_a_second_factor,
    mfa_policy_members_page_shows_who_has_a_second_factor,
    mfa_policy_lets_the_app_go_when_a_passkey_remains,
);

async fn set_policy(app: &TestApp, tenant_id: Uuid, policy: MfaPolicy) {
    let change = TenantChange {
        mfa_required: Some(policy),
        ..TenantChange::default()
    };
    organization::update_settings(
        &app.state.db,
        Actor::Operator,
        tenant_id,
        change,
        &EventContext::default(),
    )
    .await
    .unwrap();
}

async fn enable_totp(app: &TestApp, user_id: Uuid) {
    user_totp::ActiveModel {
        user_id: Set(user_id),
        secret: Set(vec![0; 60]),
        enabled_at: Set(Some(Utc::now())),
        last_step: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, serde_json::Value) {
    post(
        app,
        "/api/v1/auth/jwt/refresh/",
        json!({ "refresh": token }),
    )
    .await
}

async fn mfa_policy_refuses_refreshing_a_sign_in_without_a_second_factor(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, _) = app.acme().await;
    let olga = app.user(&tenant, "olga@acme.test", Role::Owner).await;
    let (_, ada_refresh) = tokens(&app, "acme", "ada@acme.test").await;
    let (_, olga_refresh) = tokens(&app, "acme", "olga@acme.test").await;
    // A sign-in that used a second factor (amr carries mfa).
    enable_totp(&app, olga.id).await;
    let strong = app
        .state
        .sessions
        .start_with_amr(
            &app.state.db,
            olga.clone(),
            tenant.clone(),
            &EventContext::default(),
            "pwd otp mfa",
        )
        .await
        .unwrap();
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);

    // `admins` covers the owner, not the member.
    set_policy(&app, tenant.id, MfaPolicy::Admins).await;
    let (status, body) = refresh(&app, &olga_refresh).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "mfa_required");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("requires a second factor"),
        "{body}"
    );
    assert!(body.get("access").is_none());
    let (status, body) = refresh(&app, &ada_refresh).await;
    assert_eq!(status, 200, "{body}");
    let ada_refresh = body["refresh"].as_str().unwrap().to_owned();
    // A sign-in with the second factor goes on refreshing, with its amr.
    let (status, body) = refresh(&app, &strong.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let claims = app
        .state
        .verifier
        .verify(body["access"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.amr, vec!["pwd", "otp", "mfa"]);

    // `everyone`: the member's JSON refresh and the browser's cookie refresh are refused.
    set_policy(&app, tenant.id, MfaPolicy::Everyone).await;
    let (status, body) = refresh(&app, &ada_refresh).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "mfa_required");
    let res = app.get("/refresh?next=/account").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Faccount");
    let cleared = find_cookie(&res, "refresh_token").expect("the refresh cookie is deleted");
    assert_eq!(cleared.value(), "");
    assert!(find_cookie(&res, "access_token").is_some_and(|c| c.value().is_empty()));
    // The password then leads to the set-up, not to a token.
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login/setup"),
        "{}",
        location(&res)
    );
    assert!(find_cookie(&res, "access_token").is_none());

    // Nothing was spent by the refusals: with the policy off, both tokens refresh.
    set_policy(&app, tenant.id, MfaPolicy::None).await;
    let (status, body) = refresh(&app, &ada_refresh).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = refresh(&app, &olga_refresh).await;
    assert_eq!(status, 200, "{body}");
}

fn row_of<'a>(page: &'a str, email: &str) -> &'a str {
    let at = page
        .find(&format!("<td>{email}</td>"))
        .unwrap_or_else(|| panic!("{email} in {page}"));
    let start = page[..at].rfind("<tr>").unwrap();
    let end = at + page[at..].find("</tr>").unwrap();
    &page[start..end]
}

async fn mfa_policy_members_page_shows_who_has_a_second_factor(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, ada) = app.acme().await;
    let olga = app.user(&tenant, "olga@acme.test", Role::Owner).await;
    app.user(&tenant, "bob@acme.test", Role::Admin).await;
    enable_totp(&app, ada.id).await;
    passkey::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(olga.id),
        tenant_id: Set(tenant.id),
        credential_id: Set("cred".to_owned()),
        passkey: Set("{}".to_owned()),
        name: Set("laptop".to_owned()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    // bob (admin, no factor) looks at the page.
    let res = app.login("acme", "bob@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    let res = app.get("/members").await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("<th scope=\"col\">Second factor</th>"),
        "{page}"
    );
    for (email, has) in [
        ("ada@acme.test", "yes"),
        ("olga@acme.test", "yes"),
        ("bob@acme.test", "no"),
    ] {
        let row = row_of(&page, email);
        assert!(
            row.contains(&format!("<td class=\"second-factor\">{has}</td>")),
            "{email}: {row}"
        );
    }
}

async fn add_passkey_row(app: &TestApp, user: &auth_service::entities::user::Model) {
    passkey::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user.id),
        tenant_id: Set(user.tenant_id),
        credential_id: Set(format!("cred-{}", user.id)),
        passkey: Set("{}".to_owned()),
        name: Set("laptop".to_owned()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

async fn disable(app: &TestApp, csrf: &str) -> reqwest::Response {
    app.post_form(
        "/account/mfa/disable",
        &[("csrf_token", csrf), ("password", PASSWORD)],
    )
    .await
}

async fn mfa_policy_lets_the_app_go_when_a_passkey_remains(b: Backend) {
    use auth_service::accounts::mfa;
    let app = TestApp::spawn(b).await;
    let (tenant, ada) = app.acme().await;
    assert_eq!(
        app.login("acme", "ada@acme.test", PASSWORD, "/")
            .await
            .status(),
        303
    );
    enable_totp(&app, ada.id).await;
    set_policy(&app, tenant.id, MfaPolicy::Everyone).await;
    // The app is the last factor: refused, nothing changed.
    let csrf = csrf_from(&app.get("/account/mfa").await.text().await.unwrap());
    let res = disable(&app, &csrf).await;
    assert_eq!(res.status(), 403);
    assert!(alert(&res.text().await.unwrap()).contains(mfa::POLICY_REQUIRES));
    assert!(mfa::has_totp(&app.state.db, ada.id).await.unwrap());
    // With a passkey besides it, the app may go; the passkey stays the factor.
    add_passkey_row(&app, &ada).await;
    let res = disable(&app, &csrf).await;
    assert_eq!(res.status(), 200);
    assert!(!mfa::has_totp(&app.state.db, ada.id).await.unwrap());
    assert!(mfa::has_second_factor(&app.state.db, ada.id).await.unwrap());
    assert_eq!(app.count_events("mfa_disabled").await, 1);
}
