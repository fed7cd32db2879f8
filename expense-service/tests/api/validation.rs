//! Bad input: 422 forms that keep what was typed, 400 field maps, and nothing written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp, today};
use test_support::db_tests;

db_tests!(
    bad_form_rerenders_with_422_and_writes_nothing,
    bad_json_answers_a_field_map_and_writes_nothing,
    department_of_another_tenant_is_a_field_error,
    malformed_requests_are_clear_4xx,
);

async fn count(app: &TestApp, user: &crate::api::helpers::User) -> u64 {
    let list: Value = app
        .api(Method::GET, "/api/v1/expenses/", Some(user), None)
        .await
        .json()
        .await
        .unwrap();
    list["total"].as_u64().unwrap()
}

async fn bad_form_rerenders_with_422_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let dept = app.department(&admin, "Sales", None).await;
    let long = "x".repeat(501);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("amount-error", vec![("amount", "0".into())]),
        ("amount-error", vec![("amount", "-5".into())]),
        ("amount-error", vec![("amount", "10000000000.00".into())]),
        ("amount-error", vec![("amount", "1.234".into())]),
        ("amount-error", vec![("amount", "abc".into())]),
        ("currency-error", vec![("currency", "EURO".into())]),
        ("description-error", vec![("description", long.clone())]),
        ("description-error", vec![("description", "   ".into())]),
        ("spent_on-error", vec![("spent_on", "1999-12-31".into())]),
        ("spent_on-error", vec![("spent_on", "2999-01-01".into())]),
        ("spent_on-error", vec![("spent_on", "31/12/2025".into())]),
        ("department_id-error", vec![("department_id", "".into())]),
    ];
    for (error_id, overrides) in cases {
        let mut fields: Vec<(&str, String)> = vec![
            ("amount", "12.34".into()),
            ("currency", "EUR".into()),
            ("description", "Typed by Ann".into()),
            ("spent_on", today()),
            ("department_id", dept.clone()),
        ];
        for (k, v) in &overrides {
            fields.iter_mut().find(|(f, _)| f == k).unwrap().1 = v.clone();
        }
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = app.post_form("/expenses/new", &ann, &borrowed).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{overrides:?}"
        );
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"{error_id}\"")),
            "{overrides:?}"
        );
        assert!(html.contains("form-errors"), "summary shown");
        if overrides[0].0 != "description" {
            assert!(html.contains("Typed by Ann"), "keeps what was typed");
        }
    }
    assert_eq!(count(&app, &ann).await, 0);
    app.stop().await;
}

async fn bad_json_answers_a_field_map_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let dept = app.department(&admin, "Sales", None).await;
    let res = app
        .api(
            Method::POST,
            "/api/v1/expenses/",
            Some(&ann),
            Some(json!({"amount": "0", "currency": "ZZZ", "description": "", "spent_on": "1990-01-01", "department_id": "nope"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let errors: Value = res.json().await.unwrap();
    for field in [
        "amount",
        "currency",
        "description",
        "spent_on",
        "department_id",
    ] {
        assert!(errors[field][0].is_string(), "{field}: {errors}");
    }
    // JPY has no minor units; KWD has three.
    let body = |amount: &str, currency: &str| json!({"amount": amount, "currency": currency, "description": "x", "spent_on": today(), "department_id": dept});
    let res = app
        .api(
            Method::POST,
            "/api/v1/expenses/",
            Some(&ann),
            Some(body("1.5", "JPY")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .api(
            Method::POST,
            "/api/v1/expenses/",
            Some(&ann),
            Some(body("1.005", "KWD")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.unwrap()["amount_minor"], 1005);
    // A JSON number works too.
    let mut numeric = body("0", "EUR");
    numeric["amount"] = json!(12.5);
    let res = app
        .api(Method::POST, "/api/v1/expenses/", Some(&ann), Some(numeric))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.unwrap()["amount_minor"], 1250);
    assert_eq!(count(&app, &ann).await, 2);

    // A bad PATCH changes nothing.
    let list: Value = app
        .api(Method::GET, "/api/v1/expenses/", Some(&ann), None)
        .await
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let before: Value = app
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
    let res = app
        .api(
            Method::PATCH,
            &format!("/api/v1/expenses/{id}"),
            Some(&ann),
            Some(json!({"description": "new", "amount": "-1"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let after: Value = app
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
    assert_eq!(before, after);
    app.stop().await;
}

async fn department_of_another_tenant_is_a_field_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let globex = Tenant::new("globex");
    let acme_admin = app.user(&acme, Role::Admin, "Adam");
    let globex_admin = app.user(&globex, Role::Admin, "Gina");
    let ann = app.user(&acme, Role::Member, "Ann");
    app.department(&acme_admin, "Sales", None).await;
    let foreign = app.department(&globex_admin, "Globex Sales", None).await;
    let body = json!({"amount": "1", "currency": "EUR", "description": "x", "spent_on": today(), "department_id": foreign});
    let res = app
        .api(Method::POST, "/api/v1/expenses/", Some(&ann), Some(body))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let errors: Value = res.json().await.unwrap();
    assert!(errors["department_id"][0].is_string());
    assert_eq!(count(&app, &ann).await, 0);
    app.stop().await;
}

async fn malformed_requests_are_clear_4xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let ann = app.user(&acme, Role::Member, "Ann");
    let res = app
        .client
        .post(app.url("/api/v1/expenses/"))
        .header("authorization", format!("Bearer {}", ann.token))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.json::<Value>().await.unwrap()["detail"].is_string());
    // A malformed id is the same 404 as an unknown one; pages get an HTML page.
    let res = app
        .api(Method::GET, "/api/v1/expenses/not-a-uuid", Some(&ann), None)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.json::<Value>().await.unwrap()["detail"].is_string());
    let res = app.get("/expenses/not-a-uuid", Some(&ann)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let res = app.get("/no/such/page", Some(&ann)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.get("/?month=2026-13", Some(&ann)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}
