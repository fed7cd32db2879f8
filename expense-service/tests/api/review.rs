//! Approving and rejecting: who may, with what reason, and only once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp, location};
use test_support::db_tests;

db_tests!(
    admin_approves_and_owner_rejects_with_reason,
    member_cannot_review_and_nobody_reviews_their_own,
    reject_needs_a_reason_and_nothing_changes_without_one,
    a_reviewed_expense_cannot_be_reviewed_again,
    concurrent_reviews_decide_once,
);

async fn admin_approves_and_owner_rejects_with_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam Admin");
    let owner = app.user(&acme, Role::Owner, "Olga Owner");
    let ann = app.user(&acme, Role::Member, "Ann");
    let dept = app.department(&admin, "Sales", None).await;
    let a = app.expense(&ann, &dept, "10.00", "Lunch").await;
    let b = app.expense(&ann, &dept, "99.00", "Gadget").await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    // The page offers the review form to the admin.
    let html = app
        .get(&format!("/expenses/{a}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/expenses/{a}/approve")));
    assert!(html.contains(&format!("/expenses/{a}/reject")));

    let res = app
        .post_form(
            &format!("/expenses/{a}/approve"),
            &admin,
            &[("reason", "ok")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/expenses/{a}"));
    let html = app
        .get(&format!("/expenses/{a}"), Some(&ann))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("approved"));
    assert!(html.contains("Adam Admin"));

    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/expenses/{b}/reject"),
            Some(&owner),
            Some(json!({"reason": "Not a business expense"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["status"], "rejected");
    assert_eq!(e["reason"], "Not a business expense");
    assert_eq!(e["reviewer_name"], "Olga Owner");
    assert_eq!(e["reviewer_id"], owner.id.to_string());
    assert!(e["reviewed_at"].is_string());
    app.stop().await;
}

async fn member_cannot_review_and_nobody_reviews_their_own(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let bob = app.user(&acme, Role::Member, "Bob");
    let dept = app.department(&admin, "Sales", None).await;
    let e = app.expense(&ann, &dept, "10.00", "Lunch").await;
    let id = e["id"].as_str().unwrap();

    // A member doing an admin action: 403 on the page and the API.
    let res = app
        .post_form(&format!("/expenses/{id}/approve"), &bob, &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("403"));
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/expenses/{id}/approve"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .api(
            Method::POST,
            "/api/v1/departments/",
            Some(&bob),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/departments", Some(&bob)).await.status(),
        StatusCode::FORBIDDEN
    );

    // An admin's own expense: 403, even for the admin.
    let own = app.expense(&admin, &dept, "5.00", "Own").await;
    let own = own["id"].as_str().unwrap();
    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/expenses/{own}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = app
        .get(&format!("/expenses/{own}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("/approve"),
        "no review form on one's own expense"
    );

    for id in [id, own] {
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
        assert_eq!(e["status"], "pending");
    }
    app.stop().await;
}

async fn reject_needs_a_reason_and_nothing_changes_without_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let dept = app.department(&admin, "Sales", None).await;
    let e = app.expense(&ann, &dept, "10.00", "Lunch").await;
    let id = e["id"].as_str().unwrap();

    let res = app
        .api(
            Method::POST,
            &format!("/api/v1/expenses/{id}/reject"),
            Some(&admin),
            Some(json!({"reason": "  "})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let errors: Value = res.json().await.unwrap();
    assert!(errors["reason"][0].is_string());

    let res = app
        .post_form(&format!("/expenses/{id}/reject"), &admin, &[("reason", "")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("reason-error"));

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
    assert_eq!(e["status"], "pending");
    assert_eq!(e["reviewer_id"], Value::Null);
    app.stop().await;
}

async fn a_reviewed_expense_cannot_be_reviewed_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let owner = app.user(&acme, Role::Owner, "Olga");
    let ann = app.user(&acme, Role::Member, "Ann");
    let dept = app.department(&admin, "Sales", None).await;
    let e = app.expense(&ann, &dept, "10.00", "Lunch").await;
    let id = e["id"].as_str().unwrap();
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
            Method::POST,
            &format!("/api/v1/expenses/{id}/reject"),
            Some(&owner),
            Some(json!({"reason": "late"})),
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
    assert_eq!(e["status"], "approved");
    assert_eq!(e["reviewer_name"], "Adam");
    app.stop().await;
}

async fn concurrent_reviews_decide_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let owner = app.user(&acme, Role::Owner, "Olga");
    let ann = app.user(&acme, Role::Member, "Ann");
    let dept = app.department(&admin, "Sales", None).await;
    // A request on its own task, so several are in flight at once.
    let send = |user: &crate::api::helpers::User, path: String, body: Value| {
        let req = app
            .client
            .post(app.url(&path))
            .bearer_auth(&user.token)
            .json(&body);
        tokio::spawn(async move { req.send().await.unwrap().status() })
    };
    // Ten expenses filed at once all land.
    let filed: Vec<_> = (0..10)
        .map(|i| {
            let body = json!({"amount": "1.00", "currency": "EUR", "description": format!("Item {i}"),
                              "spent_on": crate::api::helpers::today(), "department_id": dept});
            send(&ann, "/api/v1/expenses/".into(), body)
        })
        .collect();
    for task in filed {
        assert_eq!(task.await.unwrap(), StatusCode::CREATED);
    }
    let list: Value = app
        .api(Method::GET, "/api/v1/expenses/", Some(&ann), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 10);
    // Two reviewers race on each: exactly one decision wins, the other gets 409.
    let races: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let id = e["id"].as_str().unwrap();
            let approve = send(&admin, format!("/api/v1/expenses/{id}/approve"), json!({}));
            let reject = send(
                &owner,
                format!("/api/v1/expenses/{id}/reject"),
                json!({"reason": "dup"}),
            );
            (approve, reject)
        })
        .collect();
    for (approve, reject) in races {
        let mut statuses = [approve.await.unwrap(), reject.await.unwrap()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    }
    let list: Value = app
        .api(Method::GET, "/api/v1/expenses/", Some(&ann), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] != "pending")
    );
    app.stop().await;
}
