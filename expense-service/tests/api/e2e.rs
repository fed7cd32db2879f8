//! End to end: the real auth-service and expense-service on loopback ports, public URLs on
//! `*.example.test` (resolved to 127.0.0.1 by the client), `COOKIE_DOMAIN=example.test`, and
//! a cookie-keeping client per browser. auth-service signs users in; expense-service only
//! verifies the access cookie with the keys it fetched from auth-service's JWKS.

use reqwest::StatusCode;
use reqwest::cookie::CookieStore;
use serde_json::{Value, json};
use shared_jwt::Role;

use test_support::db_tests;
use test_support::http::{csrf_from, urlencode};
use test_support::stack::{DOMAIN, Stack};

use crate::api::helpers::{Backend, location, today};

db_tests!(
    sign_up_file_approve_and_see_totals,
    unauthenticated_and_expired_sessions_go_through_auth_service,
    member_is_forbidden_admin_actions_and_tenants_are_isolated,
    tenant_host_of_another_tenant_is_forbidden,
);

async fn sign_up_file_approve_and_see_totals(backend: Backend) {
    let stack = Stack::start(backend, false).await;
    let olga = stack.browser();
    let home = stack.exp_url("expenses", "/");

    // Not signed in: expense-service sends the browser to auth-service with `next`.
    let res = olga.get(&home).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        stack.auth_url(&format!("/login?next={}", urlencode(&home)))
    );

    // Sign up (a new organization, Olga becomes its owner) and land back on expense-service.
    let res = olga
        .sign_up(&stack, &home, "Olga", "olga@acme.test", "Acme Corp")
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(location(&res), home);
    let cookies = olga
        .jar
        .cookies(&reqwest::Url::parse(&home).unwrap())
        .unwrap();
    assert!(
        cookies.to_str().unwrap().contains("access_token="),
        "the parent-domain cookie reaches expenses"
    );
    assert!(
        !cookies.to_str().unwrap().contains("refresh_token"),
        "the refresh token never does"
    );
    let res = olga.get(&home).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Olga"));
    assert!(html.contains(&format!("href=\"{}\"", stack.auth_url("/logout"))));
    let me = olga.me(&stack, "expenses").await;
    assert_eq!(me["user_role"], "owner");
    let tenant_id: uuid::Uuid = me["tenant_id"].as_str().unwrap().parse().unwrap();
    let slug = me["tenant_slug"].as_str().unwrap().to_owned();

    // A department with a budget, then an expense, through the forms.
    let origin = stack.exp_url("expenses", "");
    let html = olga
        .get(&stack.exp_url("expenses", "/departments"))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&html);
    let res = olga
        .post_form(
            &stack.exp_url("expenses", "/departments"),
            &origin,
            &[
                ("csrf_token", &csrf),
                ("name", "Sales"),
                ("monthly_budget", "100.00"),
                ("budget_currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let dept = olga
        .api(
            &stack,
            "expenses",
            reqwest::Method::GET,
            "/api/v1/departments/",
            None,
        )
        .await;
    let dept: Value = dept.json().await.unwrap();
    let dept_id = dept[0]["id"].as_str().unwrap().to_owned();
    let res = olga
        .post_form(
            &stack.exp_url("expenses", "/expenses/new"),
            &origin,
            &[
                ("csrf_token", &csrf),
                ("amount", "12.34"),
                ("currency", "EUR"),
                ("description", "Taxi to the client"),
                ("spent_on", &today()),
                ("department_id", &dept_id),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let detail = stack.exp_url("expenses", &location(&res));

    // A second user, an admin, signs in and approves it.
    stack
        .add_user(tenant_id, "adam@acme.test", "Adam", Role::Admin)
        .await;
    let adam = stack.browser();
    let res = adam.sign_in(&stack, &detail, &slug, "adam@acme.test").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(location(&res), detail);
    let html = adam.get(&detail).await.text().await.unwrap();
    assert!(html.contains("Taxi to the client") && html.contains("Olga"));
    let csrf = csrf_from(&html);
    let res = adam
        .post_form(
            &format!("{detail}/approve"),
            &origin,
            &[("csrf_token", &csrf), ("reason", "Fine")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Totals: Olga sees the approved amount against the budget.
    let html = olga.get(&home).await.text().await.unwrap();
    assert!(html.contains("approved"));
    let totals = &html[html.find("id=\"totals\"").expect("totals table")..];
    assert!(totals.contains("Sales"));
    assert!(totals.contains("12.34 EUR"), "approved total");
    assert!(totals.contains("100.00 EUR"), "budget");
    assert!(totals.contains("87.66 EUR"), "remaining");
}

async fn unauthenticated_and_expired_sessions_go_through_auth_service(backend: Backend) {
    let stack = Stack::start(backend, false).await;
    let home = stack.exp_url("expenses", "/?status=pending");
    let ann = stack.browser();

    // Unauthenticated page: 303 to the auth login with the right next; API: 401 JSON.
    let res = ann.get(&home).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        stack.auth_url(&format!("/login?next={}", urlencode(&home)))
    );
    let res = ann
        .get(&stack.exp_url("expenses", "/api/v1/expenses/"))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let body: Value = res.json().await.unwrap();
    assert!(
        body["login_url"]
            .as_str()
            .unwrap()
            .starts_with(&stack.auth_url("/login?next="))
    );

    let res = ann
        .sign_up(&stack, &home, "Ann", "ann@initech.test", "Initech")
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(ann.get(&home).await.status(), StatusCode::OK);

    // Replace the access cookie by an expired one (signed by auth-service's real key).
    let me = ann.me(&stack, "expenses").await;
    let mut claims: shared_jwt::Claims = serde_json::from_value(me).unwrap();
    let now = chrono::Utc::now().timestamp();
    claims.iat = now - 600;
    claims.nbf = now - 600;
    claims.exp = now - 300;
    let expired = stack.auth.signer.issue_claims(&claims).unwrap();
    ann.jar.add_cookie_str(
        &format!("access_token={expired}; Domain={DOMAIN}; Path=/"),
        &reqwest::Url::parse(&home).unwrap(),
    );
    let res = ann.get(&home).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "expired token: back to sign-in"
    );
    let login = location(&res);
    assert_eq!(
        login,
        stack.auth_url(&format!("/login?next={}", urlencode(&home)))
    );
    let res = ann.get(&stack.exp_url("expenses", "/api/v1/me")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // auth-service still has the refresh cookie: it rotates it and sends the browser back.
    let (res, url) = ann.follow(&login).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(url, home);
    assert!(res.text().await.unwrap().contains("Ann"));
}

async fn member_is_forbidden_admin_actions_and_tenants_are_isolated(backend: Backend) {
    let stack = Stack::start(backend, false).await;
    let home = stack.exp_url("expenses", "/");
    let origin = stack.exp_url("expenses", "");
    use reqwest::Method;

    // Tenant B: an owner files an expense.
    let bert = stack.browser();
    assert_eq!(
        bert.sign_up(&stack, &home, "Bert", "bert@globex.test", "Globex")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let res = bert
        .api(
            &stack,
            "expenses",
            Method::POST,
            "/api/v1/departments/",
            Some(json!({"name": "Globex Ops"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let b_dept: Value = res.json().await.unwrap();
    let body = json!({"amount": "99.00", "currency": "EUR", "description": "Globex secret", "spent_on": today(), "department_id": b_dept["id"]});
    let res = bert
        .api(
            &stack,
            "expenses",
            Method::POST,
            "/api/v1/expenses/",
            Some(body),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let b_expense: Value = res.json().await.unwrap();
    let b_id = b_expense["id"].as_str().unwrap().to_owned();

    // Tenant A: an owner, and a member added by the owner's admin tooling.
    let alice = stack.browser();
    assert_eq!(
        alice
            .sign_up(&stack, &home, "Alice", "alice@acme.test", "Acme")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let a_me = alice.me(&stack, "expenses").await;
    let a_tenant: uuid::Uuid = a_me["tenant_id"].as_str().unwrap().parse().unwrap();
    let a_slug = a_me["tenant_slug"].as_str().unwrap().to_owned();
    let res = alice
        .api(
            &stack,
            "expenses",
            Method::POST,
            "/api/v1/departments/",
            Some(json!({"name": "Acme Ops"})),
        )
        .await;
    let a_dept: Value = res.json().await.unwrap();
    let body = json!({"amount": "5.00", "currency": "EUR", "description": "Acme pens", "spent_on": today(), "department_id": a_dept["id"]});
    let res = alice
        .api(
            &stack,
            "expenses",
            Method::POST,
            "/api/v1/expenses/",
            Some(body),
        )
        .await;
    let a_expense: Value = res.json().await.unwrap();
    let a_id = a_expense["id"].as_str().unwrap().to_owned();

    stack
        .add_user(a_tenant, "mo@acme.test", "Mo", Role::Member)
        .await;
    let mo = stack.browser();
    assert_eq!(
        mo.sign_in(&stack, &home, &a_slug, "mo@acme.test")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // A member doing an admin action: 403, page and API, and nothing changes.
    let html = mo
        .get(&stack.exp_url("expenses", &format!("/expenses/{a_id}")))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("/approve"), "no review form for a member");
    // The session's CSRF token (a member has no form with it on that page).
    let csrf = mo.me(&stack, "expenses").await["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = mo
        .post_form(
            &stack.exp_url("expenses", &format!("/expenses/{a_id}/approve")),
            &origin,
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = mo
        .api(
            &stack,
            "expenses",
            Method::POST,
            &format!("/api/v1/expenses/{a_id}/approve"),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = mo
        .api(
            &stack,
            "expenses",
            Method::POST,
            "/api/v1/departments/",
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        mo.get(&stack.exp_url("expenses", "/departments"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let e: Value = alice
        .api(
            &stack,
            "expenses",
            Method::GET,
            &format!("/api/v1/expenses/{a_id}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["status"], "pending");

    // Tenant A's owner on tenant B's expense: 404 for GET, PATCH, DELETE, approve; unchanged.
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::PATCH, "", Some(json!({"amount": "1.00"}))),
        (Method::DELETE, "", None),
        (Method::POST, "/approve", None),
        (Method::POST, "/reject", Some(json!({"reason": "no"}))),
    ] {
        let res = alice
            .api(
                &stack,
                "expenses",
                method.clone(),
                &format!("/api/v1/expenses/{b_id}{suffix}"),
                body,
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {suffix}");
        assert!(!res.text().await.unwrap().contains("Globex"));
    }
    let res = alice
        .get(&stack.exp_url("expenses", &format!("/expenses/{b_id}")))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let after: Value = bert
        .api(
            &stack,
            "expenses",
            Method::GET,
            &format!("/api/v1/expenses/{b_id}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, b_expense, "tenant B's expense is unchanged");
    let list: Value = alice
        .api(&stack, "expenses", Method::GET, "/api/v1/expenses/", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert!(!list.to_string().contains("Globex"));
}

async fn tenant_host_of_another_tenant_is_forbidden(backend: Backend) {
    let stack = Stack::start(backend, true).await;
    let ann = stack.browser();
    // Sign up from the tenant host's page; the organization gets a slug derived from its name.
    let start = stack.exp_url(stack.home_host(), "/");
    let res = ann
        .sign_up(&stack, &start, "Ann", "ann@acme.test", "Acme")
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let own_slug = ann.me(&stack, "acme").await;
    assert_eq!(
        own_slug["tenant_slug"], "acme",
        "the slug of a new organization 'Acme' is acme"
    );

    assert_eq!(
        ann.get(&stack.exp_url("acme", "/")).await.status(),
        StatusCode::OK
    );
    let res = ann.get(&stack.exp_url("globex", "/")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = ann.get(&stack.exp_url("globex", "/api/v1/expenses/")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.json::<Value>().await.unwrap()["detail"].is_string());
}
