//! Departments: admins and owners manage them, names are unique per tenant.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp, location};
use test_support::db_tests;

db_tests!(
    owner_manages_departments_through_the_page,
    department_names_are_unique_per_tenant
);

async fn owner_manages_departments_through_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let owner = app.user(&acme, Role::Owner, "Olga");
    let res = app.get("/departments", Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("No department yet"));

    let res = app
        .post_form(
            "/departments",
            &owner,
            &[
                ("name", "Research"),
                ("monthly_budget", "2500"),
                ("budget_currency", "usd"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = app
        .get(&location(&res), Some(&owner))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Department “Research” created"));
    assert!(html.contains("2500.00 USD"));

    // A budget without a currency, and a bad amount: 422, nothing written.
    let res = app
        .post_form(
            "/departments",
            &owner,
            &[("name", "Travel"), ("monthly_budget", "12,5")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("budget_currency-error"));
    assert!(html.contains("value=\"Travel\""), "keeps what was typed");
    let list: Value = app
        .api(Method::GET, "/api/v1/departments/", Some(&owner), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["monthly_budget_minor"], 250000);
    app.stop().await;
}

async fn department_names_are_unique_per_tenant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let globex = Tenant::new("globex");
    let a = app.user(&acme, Role::Admin, "Adam");
    let g = app.user(&globex, Role::Admin, "Gina");
    app.department(&a, "Sales", None).await;
    let res = app
        .api(
            Method::POST,
            "/api/v1/departments/",
            Some(&a),
            Some(json!({"name": " Sales "})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let errors: Value = res.json().await.unwrap();
    assert!(
        errors["name"][0]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    // Another tenant may use the same name.
    app.department(&g, "Sales", None).await;
    let list: Value = app
        .api(Method::GET, "/api/v1/departments/", Some(&g), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.stop().await;
}
