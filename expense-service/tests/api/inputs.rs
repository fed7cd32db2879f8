//! No input can crash a request: arbitrary strings and bytes (test-support's `inputs`) fed
//! over real HTTP to every query, form and path parser of the service — the list filters and
//! paging (page and API), `departments?created=`, the ids in paths, the expense, department
//! and review forms (with a valid CSRF token, so the forms really parse them), and the token
//! verifier (bearer and cookie) — answer 2xx, 3xx or 4xx, never a 5xx nor a dropped
//! connection. Also the paging values beyond any integer, by name.

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use serde_json::{Value, json};
use shared_jwt::Role;
use test_support::db_tests;
use test_support::inputs::{encode, never_5xx, segment, urlencoded, value};

use crate::api::helpers::{Backend, PUBLIC_URL, Tenant, TestApp};

db_tests!(paging_beyond_any_integer_is_a_400_naming_the_range);
db_tests!(blocking; no_query_form_path_or_token_gets_a_5xx);

async fn paging_beyond_any_integer_is_a_400_naming_the_range(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.user(&Tenant::new("acme"), Role::Owner, "Olivia");
    for page in [
        "18446744073709551615",
        "9223372036854775808",
        "1000001",
        "0",
    ] {
        let path = format!("/api/v1/expenses/?page={page}");
        let res = app.api(Method::GET, &path, Some(&owner), None).await;
        assert_eq!(res.status(), 400, "{page}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"page": ["page must be a whole number between 1 and 1000000."]}),
            "{page}"
        );
        let res = app.get(&format!("/?page={page}"), Some(&owner)).await;
        assert_eq!(res.status(), 400, "{page}");
        let page = res.text().await.unwrap();
        assert!(page.contains("page must be a whole number between 1 and 1000000."));
    }
    let path = "/api/v1/expenses/?page=1000000&per_page=100";
    let res = app.api(Method::GET, path, Some(&owner), None).await;
    assert_eq!(
        res.status(),
        200,
        "the largest page is empty, not an overflow"
    );
}

fn no_query_form_path_or_token_gets_a_5xx(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::spawn(backend));
    let owner = app.user(&Tenant::new("acme"), Role::Owner, "Olivia");
    rt.block_on(async {
        let department = app.department(&owner, "Travel", Some(("100", "EUR"))).await;
        app.expense(&owner, &department, "12.34", "Train").await;
    });
    let client = &app.client;
    let url = |path: &str| app.url(path);
    let cookie = format!("access_token={}", owner.token);

    let lists = proptest::sample::select(&["/", "/api/v1/expenses/", "/departments"][..]);
    let names = &[
        "status",
        "department",
        "month",
        "page",
        "per_page",
        "created",
    ];
    never_5xx(&rt, "list query", (lists, urlencoded(names)), |(p, q)| {
        let req = client.get(url(&format!("{p}?{q}")));
        req.header(COOKIE, &cookie).bearer_auth(&owner.token).send()
    });
    let paths =
        proptest::sample::select(&["/expenses/{}", "/expenses/{}/edit", "/api/v1/expenses/{}"][..]);
    never_5xx(&rt, "id path", (paths, segment()), |(p, id)| {
        let req = client.get(url(&p.replace("{}", &id)));
        req.header(COOKIE, &cookie).bearer_auth(&owner.token).send()
    });
    never_5xx(&rt, "API id path", segment(), |id| {
        let req = client.request(Method::PATCH, url(&format!("/api/v1/expenses/{id}")));
        req.bearer_auth(&owner.token).json(&json!({})).send()
    });
    let form = |path: String, fields: String| {
        client
            .post(url(&path))
            .header(COOKIE, &cookie)
            .header("origin", PUBLIC_URL)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("csrf_token={}&{fields}", owner.csrf))
            .send()
    };
    never_5xx(&rt, "review form path", segment(), |id| {
        form(format!("/expenses/{id}/reject"), "reason=no".into())
    });
    let expense_fields = &[
        "amount",
        "currency",
        "description",
        "spent_on",
        "department_id",
    ];
    never_5xx(&rt, "expense form", urlencoded(expense_fields), |f| {
        form("/expenses/new".into(), f)
    });
    let department_fields = &["name", "monthly_budget", "budget_currency"];
    never_5xx(&rt, "department form", urlencoded(department_fields), |f| {
        form("/departments".into(), f)
    });
    never_5xx(&rt, "token verifier", value(), |raw| {
        let token = encode(&raw);
        let me = client.get(url("/api/v1/me"));
        let me = me.header(AUTHORIZATION, format!("Bearer {token}"));
        let page = client
            .get(url("/"))
            .header(COOKIE, format!("access_token={token}"));
        async move {
            let res = me.send().await?;
            if res.status().is_server_error() {
                return Ok(res);
            }
            page.send().await
        }
    });
}
