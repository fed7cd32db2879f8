//! The audit trail for owners and admins: `GET /api/v1/auth/audit/` is tenant-scoped
//! (another organization's events never appear), role-checked, filtered and paginated;
//! the `/audit` page likewise; nothing secret in either.

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, PASSWORD, TestApp, plain_client};
use auth_service::tenants::SignupPolicy;
use test_support::db_tests;

db_tests!(
    audit_api_is_tenant_scoped_role_checked_and_filtered,
    audit_page_is_for_owners_and_admins
);

const AUDIT: &str = "/api/v1/auth/audit/";

async fn token(app: &TestApp, tenant: &str, email: &str) -> String {
    let res = plain_client()
        .post(app.url("/api/v1/auth/jwt/create/"))
        .json(&json!({"tenant_slug": tenant, "email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["access"].as_str().unwrap().to_owned()
}

async fn audit(app: &TestApp, token: Option<&str>, query: &str) -> (StatusCode, Value, String) {
    let mut req = plain_client().get(app.url(&format!("{AUDIT}{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

async fn audit_api_is_tenant_scoped_role_checked_and_filtered(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (acme, member) = app.acme().await;
    let admin = app.user(&acme, "root@acme.test", Role::Admin).await;
    let globex = app.tenant("globex", SignupPolicy::Open, 10).await;
    let eve = app.user(&globex, "eve@globex.test", Role::Owner).await;
    let member_token = token(&app, "acme", "ada@acme.test").await;
    let admin_token = token(&app, "acme", "root@acme.test").await;
    let eve_token = token(&app, "globex", "eve@globex.test").await;
    // A failure in each organization.
    for (t, e) in [("acme", "ada@acme.test"), ("globex", "eve@globex.test")] {
        let res = plain_client()
            .post(app.url("/api/v1/auth/jwt/create/"))
            .json(&json!({"tenant_slug": t, "email": e, "password": "wrong wrong wrong"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    assert_eq!(audit(&app, None, "").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        audit(&app, Some(&member_token), "").await.0,
        StatusCode::FORBIDDEN
    );

    let (status, page, text) = audit(&app, Some(&admin_token), "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let results = page["results"].as_array().unwrap();
    assert_eq!(page["count"].as_u64().unwrap() as usize, results.len());
    assert!(results.len() >= 3, "{page}");
    for e in results {
        assert_eq!(e["tenant_id"], acme.id.to_string(), "{e}");
        assert_ne!(e["user_id"], eve.id.to_string());
    }
    assert!(
        results
            .iter()
            .any(|e| e["type"] == "login_success" && e["user_email"] == "root@acme.test")
    );
    for secret in [
        PASSWORD,
        "wrong wrong wrong",
        &member_token,
        &admin_token,
        &eve_token,
    ] {
        assert!(!text.contains(secret), "a secret in the audit log");
    }

    // Globex's owner sees only globex.
    let (_, page, _) = audit(&app, Some(&eve_token), "").await;
    for e in page["results"].as_array().unwrap() {
        assert_eq!(e["tenant_id"], globex.id.to_string());
    }

    // Filters: type, user, time.
    let (_, page, _) = audit(&app, Some(&admin_token), "?type=login_failure").await;
    assert_eq!(page["count"], 1, "{page}");
    assert_eq!(page["results"][0]["user_id"], member.id.to_string());
    let (_, page, _) = audit(&app, Some(&admin_token), &format!("?user={}", admin.id)).await;
    assert!(
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == admin.id.to_string())
    );
    assert!(page["count"].as_u64().unwrap() >= 1);
    let (_, page, _) = audit(&app, Some(&admin_token), "?since=2999-01-01T00:00:00Z").await;
    assert_eq!(page["count"], 0);
    let (_, page, _) = audit(&app, Some(&admin_token), "?until=2000-01-01T00:00:00Z").await;
    assert_eq!(page["count"], 0);
    // Another tenant's user id filters to nothing.
    let (_, page, _) = audit(&app, Some(&admin_token), &format!("?user={}", eve.id)).await;
    assert_eq!(page["count"], 0);

    // Paging.
    let (_, page, _) = audit(&app, Some(&admin_token), "?type=login_success&page_size=1").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    assert!(
        page["next"]
            .as_str()
            .unwrap()
            .contains("type=login_success")
    );
    assert!(page["next"].as_str().unwrap().contains("page=2"));
    assert_eq!(page["previous"], Value::Null);
    assert_eq!(
        audit(&app, Some(&admin_token), "?page=999").await.0,
        StatusCode::NOT_FOUND
    );

    // Bad filters: 400 naming each field.
    let (status, body, _) = audit(
        &app,
        Some(&admin_token),
        "?type=nope&user=x&since=yesterday&page=0",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for field in ["type", "user", "since", "page"] {
        assert!(body[field].is_array(), "{field}: {body}");
    }
}

/// A fresh browser signed in through the form.
async fn signed_in(app: &TestApp, tenant: &str, email: &str) -> reqwest::Client {
    let browser = test_support::http::browser();
    let html = browser
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = test_support::http::csrf_from(&html);
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("tenant", tenant),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    browser
}

async fn page(app: &TestApp, browser: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let res = browser.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn audit_page_is_for_owners_and_admins(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (acme, _) = app.acme().await;
    app.user(&acme, "owner@acme.test", Role::Owner).await;
    let globex = app.tenant("globex", SignupPolicy::Open, 10).await;
    app.user(&globex, "eve@globex.test", Role::Owner).await;
    signed_in(&app, "globex", "eve@globex.test").await;

    let member = signed_in(&app, "acme", "ada@acme.test").await;
    let (_, account) = page(&app, &member, "/").await;
    assert!(!account.contains("href=\"/audit\""), "no link for members");
    assert_eq!(page(&app, &member, "/audit").await.0, StatusCode::FORBIDDEN);

    let owner = signed_in(&app, "acme", "owner@acme.test").await;
    let (_, account) = page(&app, &owner, "/").await;
    assert!(account.contains("href=\"/audit\""));
    let (status, html) = page(&app, &owner, "/audit?type=login_success").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("owner@acme.test") && html.contains("ada@acme.test"),
        "{html}"
    );
    assert!(
        !html.contains("eve@globex.test"),
        "another organization's events"
    );
    assert!(!html.contains(PASSWORD));
    assert_eq!(
        page(&app, &owner, "/audit?page=0").await.0,
        StatusCode::BAD_REQUEST
    );
}
