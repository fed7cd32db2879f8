//! Filing, listing, editing and deleting expenses (pages and API).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp, location, this_month, today};
use test_support::db_tests;

db_tests!(
    member_files_an_expense_through_the_form,
    api_lists_with_filters_pagination_and_totals,
    member_edits_and_deletes_own_pending_expense,
    others_and_reviewed_expenses_cannot_be_changed,
    viewer_reads_but_cannot_write,
);

async fn member_files_an_expense_through_the_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let owner = app.user(&acme, Role::Owner, "Olga Owner");
    let ann = app.user(&acme, Role::Member, "Ann Member");
    let dept = app
        .department(&owner, "Sales", Some(("500.00", "EUR")))
        .await;

    let res = app.get("/expenses/new", Some(&ann)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("name=\"csrf_token\""));
    assert!(html.contains(&ann.csrf));
    assert!(html.contains("Sales"));

    let res = app
        .post_form(
            "/expenses/new",
            &ann,
            &[
                ("amount", "12.34"),
                ("currency", "eur"),
                ("description", "Taxi <to> airport"),
                ("spent_on", &today()),
                ("department_id", &dept),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let detail = location(&res);
    assert!(detail.starts_with("/expenses/"), "{detail}");

    let html = app.get(&detail, Some(&ann)).await.text().await.unwrap();
    assert!(html.contains("12.34 EUR"));
    assert!(
        html.contains("Taxi &#60;to&#62; airport") || html.contains("Taxi &lt;to&gt; airport"),
        "escaped"
    );
    assert!(html.contains("pending"));
    assert!(html.contains("Ann Member"));
    // Own pending expense: edit and delete offered, review not.
    assert!(html.contains("/edit"));
    assert!(!html.contains("/approve"));

    let html = app.get("/", Some(&ann)).await.text().await.unwrap();
    assert!(html.contains("Taxi"));
    assert!(html.contains(&this_month()));
    assert!(html.contains("500.00 EUR"), "budget shown");
    assert!(html.contains("487.66 EUR"), "remaining = 500.00 - 12.34");
    app.stop().await;
}

async fn api_lists_with_filters_pagination_and_totals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let sales = app
        .department(&admin, "Sales", Some(("100.00", "EUR")))
        .await;
    let ops = app.department(&admin, "Ops", None).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = app
            .expense(&ann, &sales, "30.00", &format!("Sales {i}"))
            .await;
        ids.push(e["id"].as_str().unwrap().to_owned());
    }
    app.expense(&ann, &ops, "7.5", "Ops lunch").await;
    // Approve one.
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/expenses/{}/approve", ids[0]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let page: Value = app
        .api(
            Method::GET,
            "/api/v1/expenses/?per_page=2&page=2",
            Some(&ann),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 6);
    assert_eq!(page["pages"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);

    let filtered: Value = app
        .api(
            Method::GET,
            &format!("/api/v1/expenses/?department={sales}&status=pending"),
            Some(&ann),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["total"], 4);
    assert!(
        filtered["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "pending")
    );

    let month: Value = app
        .api(
            Method::GET,
            &format!("/api/v1/expenses/?month={}", this_month()),
            Some(&ann),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(month["total"], 6);
    let totals = month["totals"].as_array().unwrap();
    let sales_total = totals
        .iter()
        .find(|t| t["department_id"] == sales.as_str())
        .unwrap();
    assert_eq!(sales_total["approved"], "30.00");
    assert_eq!(sales_total["pending"], "120.00");
    assert_eq!(sales_total["budget"], "100.00");
    assert_eq!(sales_total["remaining"], "-50.00");
    assert_eq!(sales_total["over_budget"], true);
    let ops_total = totals
        .iter()
        .find(|t| t["department_id"] == ops.as_str())
        .unwrap();
    assert_eq!(ops_total["pending_minor"], 750);
    assert_eq!(ops_total["budget"], Value::Null);

    let none: Value = app
        .api(
            Method::GET,
            "/api/v1/expenses/?month=2001-01",
            Some(&ann),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 0);
    assert_eq!(none["totals"], json!([]));

    let bad = app
        .api(
            Method::GET,
            "/api/v1/expenses/?status=paid&per_page=1000",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let errors: Value = bad.json().await.unwrap();
    assert!(errors["status"][0].is_string());
    assert!(errors["per_page"][0].is_string());

    // The HTML list shows the over-budget line and paginates.
    let html = app
        .get("/?per_page=2", Some(&ann))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("over budget"));
    assert!(html.contains("Page 1 of 3"));
    assert!(html.contains("rel=\"next\""));
    app.stop().await;
}

async fn member_edits_and_deletes_own_pending_expense(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let dept = app.department(&admin, "Sales", None).await;
    let e = app.expense(&ann, &dept, "10.00", "Lunch").await;
    let id = e["id"].as_str().unwrap();

    // The form route.
    let res = app.get(&format!("/expenses/{id}/edit"), Some(&ann)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("value=\"10.00\""));
    let res = app
        .post_form(
            &format!("/expenses/{id}/edit"),
            &ann,
            &[
                ("amount", "11.50"),
                ("currency", "EUR"),
                ("description", "Lunch with client"),
                ("spent_on", &today()),
                ("department_id", &dept),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/expenses/{id}"));

    // PATCH only what is sent.
    let res = app
        .api(
            Method::PATCH,
            &format!("/api/v1/expenses/{id}"),
            Some(&ann),
            Some(json!({ "amount": "12" })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["amount_minor"], 1200);
    assert_eq!(e["description"], "Lunch with client");
    assert_eq!(e["department_name"], "Sales");

    // Status can't be patched.
    let res = app
        .api(
            Method::PATCH,
            &format!("/api/v1/expenses/{id}"),
            Some(&ann),
            Some(json!({ "status": "approved" })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let res = app
        .post_form(&format!("/expenses/{id}/delete"), &ann, &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app
        .api(
            Method::GET,
            &format!("/api/v1/expenses/{id}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let e = app.expense(&ann, &dept, "3", "Coffee").await;
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/v1/expenses/{}", e["id"].as_str().unwrap()),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.stop().await;
}

async fn others_and_reviewed_expenses_cannot_be_changed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let bob = app.user(&acme, Role::Member, "Bob");
    let dept = app.department(&admin, "Sales", None).await;
    let e = app.expense(&ann, &dept, "10.00", "Lunch").await;
    let id = e["id"].as_str().unwrap();

    // Someone else's: 403, unchanged.
    let res = app
        .api(
            Method::PATCH,
            &format!("/api/v1/expenses/{id}"),
            Some(&bob),
            Some(json!({ "amount": "1" })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/v1/expenses/{id}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app.get(&format!("/expenses/{id}/edit"), Some(&bob)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Only the person who filed")
    );

    // Reviewed: 409 for its owner.
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/expenses/{id}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .api(
            Method::PATCH,
            &format!("/api/v1/expenses/{id}"),
            Some(&ann),
            Some(json!({ "amount": "1" })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/v1/expenses/{id}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    let e: Value = app
        .api(
            Method::GET,
            &format!("/api/v1/expenses/{id}"),
            Some(&ann),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["amount_minor"], 1000);
    assert_eq!(e["status"], "approved");
    app.stop().await;
}

async fn viewer_reads_but_cannot_write(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let vic = app.user(&acme, Role::Viewer, "Vic Viewer");
    let dept = app.department(&admin, "Sales", None).await;
    let e = app.expense(&ann, &dept, "10.00", "Lunch").await;
    let id = e["id"].as_str().unwrap();

    let res = app.get("/", Some(&vic)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Lunch"));
    assert!(
        !html.contains("href=\"/expenses/new\""),
        "no link to file for viewers"
    );
    assert_eq!(
        app.get(&format!("/expenses/{id}"), Some(&vic))
            .await
            .status(),
        StatusCode::OK
    );

    assert_eq!(
        app.get("/expenses/new", Some(&vic)).await.status(),
        StatusCode::FORBIDDEN
    );
    let body = json!({"amount": "1", "currency": "EUR", "description": "x", "spent_on": today(), "department_id": dept});
    let res = app
        .api(Method::POST, "/api/v1/expenses/", Some(&vic), Some(body))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.json::<Value>().await.unwrap()["detail"].is_string());
    let list: Value = app
        .api(Method::GET, "/api/v1/expenses/", Some(&vic), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    app.stop().await;
}
