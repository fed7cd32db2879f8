//! Keyset paging (issue 13): the list's `next` link carries an opaque `after=` cursor, so a
//! deep page reads its rows by index. Walking it visits every row once, in the list's order,
//! with the filters, while rows are added between page loads; a bad cursor is a 400, and a
//! cursor never reaches another tenant's rows.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp, User};
use test_support::db_tests;

db_tests!(
    walking_the_cursor_visits_every_row_once_in_order,
    the_cursor_keeps_the_filters,
    rows_added_between_page_loads_are_neither_repeated_nor_skipped,
    bad_cursors_are_refused,
    a_cursor_never_reaches_another_tenant,
    the_html_next_link_uses_the_cursor,
);

/// Files an expense dated `spent_on` and returns its id.
async fn file(app: &TestApp, user: &User, dept: &str, spent_on: &str, description: &str) -> String {
    let res = app
        .api(
            Method::POST,
            "/api/v1/expenses/",
            Some(user),
            Some(json!({
                "amount": "10.00",
                "currency": "EUR",
                "description": description,
                "spent_on": spent_on,
                "department_id": dept,
            })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let e: Value = res.json().await.unwrap();
    e["id"].as_str().unwrap().to_owned()
}

/// A few dates, several expenses on each (ties on `spent_on` are ordered by `created_at`,
/// then id).
fn date(i: usize) -> String {
    format!("2026-0{}-1{}", 1 + i % 3, i % 2)
}

async fn get_json(app: &TestApp, user: &User, path: &str) -> Value {
    let res = app.api(Method::GET, path, Some(user), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `next` from `first` to the end; returns the ids in order and the pages' numbers.
async fn walk(app: &TestApp, user: &User, first: &str) -> (Vec<String>, Vec<u64>) {
    let mut seen = Vec::new();
    let mut numbers = Vec::new();
    let mut path = first.to_owned();
    loop {
        let page = get_json(app, user, &path).await;
        seen.extend(ids(&page));
        numbers.push(page["page"].as_u64().unwrap());
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/api/v1/expenses/?"), "{next}");
                assert!(next.contains("after="), "{next}");
                assert!(
                    !next.contains("?page=") && !next.contains("&page="),
                    "{next}"
                );
                path = next.to_owned();
            }
            None => break,
        }
        assert!(numbers.len() < 100, "the walk ends");
    }
    (seen, numbers)
}

async fn walking_the_cursor_visits_every_row_once_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let dept = app.department(&admin, "Sales", None).await;
    for i in 0..13 {
        file(&app, &admin, &dept, &date(i), &format!("e{i}")).await;
    }
    // The reference: one page with everything, in the list's order.
    let all = ids(&get_json(&app, &admin, "/api/v1/expenses/?per_page=100").await);
    assert_eq!(all.len(), 13);
    let (seen, numbers) = walk(&app, &admin, "/api/v1/expenses/?per_page=4").await;
    assert_eq!(seen, all, "every row once, in order");
    assert_eq!(numbers, vec![1, 2, 3, 4]);
    // The rows really are newest first by spent_on.
    let full = get_json(&app, &admin, "/api/v1/expenses/?per_page=100").await;
    let dates: Vec<&str> = full["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["spent_on"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    // An offset page answers the cursor of its own last row too: page 2 then its `next`
    // continue where page 2 ended.
    let second = get_json(&app, &admin, "/api/v1/expenses/?per_page=4&page=2").await;
    assert_eq!(ids(&second), all[4..8]);
    let third = get_json(&app, &admin, second["next"].as_str().unwrap()).await;
    assert_eq!(ids(&third), all[8..12]);
    assert_eq!(third["page"], 3);
    assert_eq!(third["pages"], 4);
    assert_eq!(third["total"], 13);
    // Exactly one page: no next.
    let one = get_json(&app, &admin, "/api/v1/expenses/?per_page=13").await;
    assert_eq!(one["next"], Value::Null);
    app.stop().await;
}

async fn the_cursor_keeps_the_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let ann = app.user(&acme, Role::Member, "Ann");
    let sales = app.department(&admin, "Sales", None).await;
    let ops = app.department(&admin, "Ops", None).await;
    let mut approved = Vec::new();
    for i in 0..12 {
        let dept = if i % 3 == 0 { &ops } else { &sales };
        let id = file(&app, &ann, dept, &date(i), &format!("e{i}")).await;
        if i % 4 == 1 {
            let res = app
                .api(
                    Method::POST,
                    &format!("/api/v1/expenses/{id}/approve"),
                    Some(&admin),
                    None,
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            approved.push(id);
        }
    }
    let query = format!("department={sales}&status=pending&month=2026-02");
    let all = ids(&get_json(
        &app,
        &ann,
        &format!("/api/v1/expenses/?{query}&per_page=100"),
    )
    .await);
    assert!(all.len() >= 3, "{all:?}");
    let (seen, _) = walk(&app, &ann, &format!("/api/v1/expenses/?{query}&per_page=2")).await;
    assert_eq!(seen, all);
    let items = get_json(
        &app,
        &ann,
        &format!("/api/v1/expenses/?{query}&per_page=100"),
    )
    .await;
    for e in items["items"].as_array().unwrap() {
        assert_eq!(e["department_id"], sales.as_str());
        assert_eq!(e["status"], "pending");
        assert!(e["spent_on"].as_str().unwrap().starts_with("2026-02"));
        assert!(!approved.contains(&e["id"].as_str().unwrap().to_owned()));
    }
    // The next link names the same filters and page size.
    let first = get_json(&app, &ann, &format!("/api/v1/expenses/?{query}&per_page=2")).await;
    let next = first["next"].as_str().unwrap();
    for part in [
        format!("department={sales}"),
        "status=pending".to_owned(),
        "month=2026-02".to_owned(),
        "per_page=2".to_owned(),
    ] {
        assert!(next.contains(&part), "{next} has {part}");
    }
    app.stop().await;
}

async fn rows_added_between_page_loads_are_neither_repeated_nor_skipped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let dept = app.department(&admin, "Sales", None).await;
    for i in 0..10 {
        file(&app, &admin, &dept, &date(i), &format!("e{i}")).await;
    }
    let before: Vec<String> = ids(&get_json(&app, &admin, "/api/v1/expenses/?per_page=100").await);
    let mut seen = Vec::new();
    let mut added_old = Vec::new();
    let mut added_new = Vec::new();
    let mut path = "/api/v1/expenses/?per_page=3".to_owned();
    let mut loads = 0;
    loop {
        let page = get_json(&app, &admin, &path).await;
        seen.extend(ids(&page));
        loads += 1;
        // Between loads: one expense newer than every row (it belongs before the pages
        // already read) and one older than every row so far (it comes in a later page).
        added_new.push(file(&app, &admin, &dept, "2026-06-01", &format!("new {loads}")).await);
        let older = format!("2025-12-{:02}", 28 - loads);
        added_old.push(file(&app, &admin, &dept, &older, &format!("old {loads}")).await);
        match page["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
        assert!(loads < 20);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row twice: {seen:?}");
    // Every row that existed before the walk, in the same order.
    let old_rows: Vec<&String> = seen.iter().filter(|id| before.contains(id)).collect();
    assert_eq!(old_rows, before.iter().collect::<Vec<_>>());
    assert!(added_new.iter().all(|id| !seen.contains(id)));
    // The older rows added while walking were reached (all but those added after the last
    // page was read).
    assert!(
        added_old[..added_old.len() - 1]
            .iter()
            .all(|id| seen.contains(id)),
        "{added_old:?} in {seen:?}"
    );
    app.stop().await;
}

async fn bad_cursors_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let dept = app.department(&admin, "Sales", None).await;
    for i in 0..3 {
        file(&app, &admin, &dept, &date(i), &format!("e{i}")).await;
    }
    let first = get_json(&app, &admin, "/api/v1/expenses/?per_page=1").await;
    let next = first["next"].as_str().unwrap().to_owned();
    let cursor = next.split("after=").nth(1).unwrap().to_owned();
    let flipped = {
        let mut c = cursor.clone().into_bytes();
        c[1] = if c[1] == b'1' { b'2' } else { b'1' }; // the version byte
        String::from_utf8(c).unwrap()
    };
    for bad in [
        "x".to_owned(),
        "%00".to_owned(),
        cursor[..cursor.len() - 1].to_owned(),
        format!("{cursor}0"),
        flipped,
        "z".repeat(cursor.len()),
    ] {
        let res = app
            .api(
                Method::GET,
                &format!("/api/v1/expenses/?after={bad}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"detail": expense_service::routes::BAD_CURSOR}),
            "{bad}"
        );
    }
    let res = app
        .api(Method::GET, &format!("{next}&page=2"), Some(&admin), None)
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": expense_service::routes::CURSOR_AND_PAGE})
    );

    // The HTML list re-renders its first page (same filters) with the message, as a 400.
    let res = app
        .get("/?status=pending&per_page=1&after=nonsense", Some(&admin))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"list-error\""), "{html}");
    assert!(html.contains("is malformed or was altered"), "{html}");
    assert!(html.contains("Page 1 of 3"), "{html}");
    assert!(
        html.contains("<option value=\"pending\" selected>"),
        "{html}"
    );
    app.stop().await;
}

async fn a_cursor_never_reaches_another_tenant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let globex = Tenant::new("globex");
    let a = app.user(&acme, Role::Admin, "Adam");
    let g = app.user(&globex, Role::Admin, "Gina");
    let a_dept = app.department(&a, "Sales", None).await;
    let g_dept = app.department(&g, "Sales", None).await;
    for i in 0..6 {
        file(&app, &a, &a_dept, &date(i), &format!("acme {i}")).await;
        file(&app, &g, &g_dept, &date(i), &format!("globex {i}")).await;
    }
    let acme_ids: HashSet<String> =
        ids(&get_json(&app, &a, "/api/v1/expenses/?per_page=100").await)
            .into_iter()
            .collect();
    // Globex's cursor, sent by Acme: Acme's rows after that position, never Globex's.
    let g_first = get_json(&app, &g, "/api/v1/expenses/?per_page=2").await;
    let g_next = g_first["next"].as_str().unwrap();
    let (seen, _) = walk(&app, &a, g_next).await;
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|id| acme_ids.contains(id)), "{seen:?}");
    app.stop().await;
}

async fn the_html_next_link_uses_the_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Adam");
    let dept = app.department(&admin, "Sales", None).await;
    for i in 0..5 {
        file(&app, &admin, &dept, &date(i), &format!("row number {i}")).await;
    }
    let next_of = |html: &str| {
        let at = html.find("rel=\"next\"")?;
        let start = html[..at].rfind("href=\"")? + 6;
        let end = start + html[start..].find('"')?;
        Some(html[start..end].replace("&amp;", "&").replace("&#38;", "&"))
    };
    let mut path = "/?per_page=2".to_owned();
    let mut rows = 0;
    for n in 1..=3 {
        let res = app.get(&path, Some(&admin)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!("Page {n} of 3")), "{html}");
        rows += html.matches("row number").count();
        match next_of(&html) {
            Some(next) => {
                assert!(next.starts_with("/?per_page=2&after="), "{next}");
                path = next;
            }
            None => assert_eq!(n, 3),
        }
        if n > 1 {
            assert!(html.contains("rel=\"prev\""));
        }
    }
    assert_eq!(rows, 5);
    app.stop().await;
}
