//! Tenant isolation seen from outside: another tenant's ids answer 404 and change nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp, User};
use test_support::db_tests;

db_tests!(
    another_tenants_expense_is_404_and_unchanged,
    lists_never_show_another_tenant
);

async fn snapshot(app: &TestApp, owner: &User, id: &str) -> Value {
    let res = app
        .api(
            Method::GET,
            &format!("/api/v1/expenses/{id}"),
            Some(owner),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn another_tenants_expense_is_404_and_unchanged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = (Tenant::new("acme"), Tenant::new("globex"));
    // Tenant A's user is an admin *and* files expenses, so no role check hides a leak.
    let a_admin = app.user(&a, Role::Owner, "Alice");
    let b_admin = app.user(&b, Role::Admin, "Bert");
    let b_member = app.user(&b, Role::Member, "Bea");
    let b_dept = app.department(&b_admin, "Globex Sales", None).await;
    let e = app
        .expense(&b_member, &b_dept, "42.00", "Globex secret dinner")
        .await;
    let id = e["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app, &b_member, &id).await;

    let api = |m: Method, suffix: &str, body: Option<Value>| {
        let path = format!("/api/v1/expenses/{id}{suffix}");
        let app = &app;
        let a_admin = &a_admin;
        async move { app.api(m, &path, Some(a_admin), body).await }
    };
    for res in [
        api(Method::GET, "", None).await,
        api(Method::PATCH, "", Some(json!({"amount": "1"}))).await,
        api(Method::PATCH, "", Some(json!({"amount": "-1"}))).await,
        api(Method::DELETE, "", None).await,
        api(Method::POST, "/approve", None).await,
        api(Method::POST, "/reject", Some(json!({"reason": "no"}))).await,
        api(Method::POST, "/reject", None).await,
    ] {
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("Globex") && !body.contains("42.00"),
            "{body}"
        );
    }
    for path in [format!("/expenses/{id}"), format!("/expenses/{id}/edit")] {
        let res = app.get(&path, Some(&a_admin)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!res.text().await.unwrap().contains("Globex"));
    }
    for action in ["approve", "reject", "delete", "edit"] {
        let res = app
            .post_form(
                &format!("/expenses/{id}/{action}"),
                &a_admin,
                &[
                    ("reason", "x"),
                    ("amount", "1"),
                    ("currency", "EUR"),
                    ("description", "x"),
                    ("spent_on", "2026-01-01"),
                    ("department_id", &b_dept),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(
        snapshot(&app, &b_member, &id).await,
        before,
        "nothing changed"
    );
    app.stop().await;
}

async fn lists_never_show_another_tenant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, b) = (Tenant::new("acme"), Tenant::new("globex"));
    let a_admin = app.user(&a, Role::Admin, "Alice");
    let b_admin = app.user(&b, Role::Admin, "Bert");
    let a_dept = app
        .department(&a_admin, "Acme Ops", Some(("10", "EUR")))
        .await;
    let b_dept = app
        .department(&b_admin, "Globex Ops", Some(("10", "EUR")))
        .await;
    app.expense(&a_admin, &a_dept, "1.00", "Acme paperclips")
        .await;
    app.expense(&b_admin, &b_dept, "2.00", "Globex staples")
        .await;

    let html = app.get("/", Some(&a_admin)).await.text().await.unwrap();
    assert!(html.contains("Acme paperclips") && html.contains("Acme Ops"));
    assert!(!html.contains("Globex"));
    let list: Value = app
        .api(Method::GET, "/api/v1/expenses/", Some(&a_admin), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert!(!list.to_string().contains("Globex"));
    // Filtering by the other tenant's department finds nothing.
    let list: Value = app
        .api(
            Method::GET,
            &format!("/api/v1/expenses/?department={b_dept}"),
            Some(&a_admin),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    assert_eq!(list["totals"], json!([]));
    let depts: Value = app
        .api(Method::GET, "/api/v1/departments/", Some(&a_admin), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(depts.as_array().unwrap().len(), 1);
    app.stop().await;
}
