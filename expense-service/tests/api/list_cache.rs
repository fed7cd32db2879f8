//! List pages served from memory (issue 13): a page read again answers exactly what the
//! database holds, after every kind of write, through this instance or another one on the
//! same database (a second replica), and the tenant version that guards it moves only with
//! committed writes of its own tenant.

use expense_service::db::Db;
use expense_service::repo::departments::{self, NewDepartment};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{Backend, Tenant, TestApp, User, new_tenant_scope, test_db};
use test_support::db_tests;

db_tests!(
    a_page_read_again_shows_every_write,
    a_write_through_another_replica_is_seen_at_once,
    concurrent_reads_never_miss_a_committed_write,
    the_cache_can_be_turned_off,
    the_version_moves_only_with_committed_writes_of_its_tenant,
);

async fn list(app: &TestApp, user: &User, path: &str) -> Value {
    let res = app.api(Method::GET, path, Some(user), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

async fn send(app: &TestApp, user: &User, method: Method, path: &str, body: Value) -> StatusCode {
    app.api(method, path, Some(user), Some(body)).await.status()
}

async fn a_page_read_again_shows_every_write(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Ada");
    let member = app.user(&acme, Role::Member, "Bob");
    let dept = app.department(&admin, "Ops", None).await;
    let path = "/api/v1/expenses/";
    let empty = list(&app, &member, path).await;
    assert_eq!(empty["total"], 0);
    assert_eq!(
        list(&app, &member, path).await,
        empty,
        "read twice, same answer"
    );

    let e = app.expense(&member, &dept, "12.50", "Taxi").await;
    let id = e["id"].as_str().unwrap();
    let page = list(&app, &member, path).await;
    assert_eq!(ids(&page), [id], "a new expense");
    assert_eq!(page["total"], 1);
    assert_eq!(page["totals"][0]["pending_minor"], 1250);

    let edit = json!({ "amount": "20.00" });
    let status = send(&app, &member, Method::PATCH, &format!("{path}{id}"), edit).await;
    assert_eq!(status, StatusCode::OK);
    let page = list(&app, &member, path).await;
    assert_eq!(page["items"][0]["amount_minor"], 2000, "an edit");
    assert_eq!(page["totals"][0]["pending_minor"], 2000);

    let approve = format!("{path}{id}/approve");
    assert_eq!(
        send(&app, &admin, Method::POST, &approve, json!({})).await,
        StatusCode::OK
    );
    let page = list(&app, &member, path).await;
    assert_eq!(page["items"][0]["status"], "approved", "a review");
    assert_eq!(page["totals"][0]["approved_minor"], 2000);
    assert_eq!(page["totals"][0]["pending_minor"], 0);

    let other = app.department(&admin, "Sales", None).await;
    let second = app.expense(&member, &other, "1.00", "Stamp").await;
    let second = second["id"].as_str().unwrap();
    let page = list(&app, &member, path).await;
    assert_eq!(page["total"], 2);
    let filtered = format!("{path}?department={other}");
    assert_eq!(ids(&list(&app, &member, &filtered).await), [second]);

    let res = app
        .api(
            Method::DELETE,
            &format!("{path}{second}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(list(&app, &member, path).await["total"], 1, "a deletion");
    let after = list(&app, &member, &filtered).await;
    assert_eq!(after["total"], 0, "the filtered page too");
    assert!(ids(&after).is_empty());

    // Another tenant's writes are not this tenant's answer, and the reverse.
    let globex = Tenant::new("globex");
    let g_admin = app.user(&globex, Role::Admin, "Gus");
    let g_dept = app.department(&g_admin, "Ops", None).await;
    app.expense(&g_admin, &g_dept, "5.00", "Globex lunch").await;
    assert_eq!(list(&app, &member, path).await["total"], 1);
    assert_eq!(list(&app, &g_admin, path).await["total"], 1);
    assert_eq!(ids(&list(&app, &member, path).await), [id]);
    app.stop().await;
}

async fn a_write_through_another_replica_is_seen_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let replica = app.replica().await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Ada");
    let member = app.user(&acme, Role::Member, "Bob");
    let dept = app.department(&admin, "Ops", None).await;
    let path = "/api/v1/expenses/";
    let html = |body: &str| body.contains("Taxi");

    // Both replicas have read (and kept) the empty page, JSON and HTML.
    for r in [&app, &replica] {
        assert_eq!(list(r, &admin, path).await["total"], 0);
        let page = r.get("/", Some(&admin)).await.text().await.unwrap();
        assert!(!html(&page));
    }
    let e = app.expense(&member, &dept, "7.00", "Taxi").await;
    let id = e["id"].as_str().unwrap();
    let page = list(&replica, &admin, path).await;
    assert_eq!(
        ids(&page),
        [id],
        "the other replica reads the write at once"
    );
    assert_eq!(page["totals"][0]["pending_minor"], 700);
    let page = replica.get("/", Some(&admin)).await.text().await.unwrap();
    assert!(html(&page), "and so does its HTML list");

    let reject = format!("{path}{id}/reject");
    let body = json!({ "reason": "No receipt" });
    assert_eq!(
        send(&replica, &admin, Method::POST, &reject, body).await,
        StatusCode::OK
    );
    let page = list(&app, &admin, path).await;
    assert_eq!(page["items"][0]["status"], "rejected", "and back");
    assert_eq!(
        page["totals"],
        json!([]),
        "a rejected expense counts in no total"
    );
    replica.stop().await;
    app.stop().await;
}

/// Readers sharing version reads (many requests of one tenant at once) still see every write
/// that committed before they asked: each read's total is at least the number of creations
/// answered before it was sent. The writes go through a second replica, so this instance
/// learns of them only from the database.
async fn concurrent_reads_never_miss_a_committed_write(backend: Backend) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let app = TestApp::spawn(backend).await;
    let replica = app.replica().await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Ada");
    let member = app.user(&acme, Role::Member, "Bob");
    let dept = app.department(&admin, "Ops", None).await;
    let path = "/api/v1/expenses/";
    let (written, finished) = (AtomicU64::new(0), AtomicBool::new(false));
    let writer = async {
        for i in 0..12 {
            replica
                .expense(&member, &dept, "1.00", &format!("Taxi {i}"))
                .await;
            written.fetch_add(1, Ordering::SeqCst);
        }
        finished.store(true, Ordering::SeqCst);
    };
    let reader = || async {
        let mut reads = 0_u32;
        while !finished.load(Ordering::SeqCst) || reads < 3 {
            let before = written.load(Ordering::SeqCst);
            let total = list(&app, &admin, path).await["total"].as_u64().unwrap();
            assert!(
                total >= before,
                "read {total} rows after {before} were written"
            );
            reads += 1;
        }
        reads
    };
    let ((), a, b, c, d) = tokio::join!(writer, reader(), reader(), reader(), reader());
    assert!(a + b + c + d >= 12, "the readers ran alongside the writer");
    assert_eq!(list(&app, &admin, path).await["total"], 12);
    replica.stop().await;
    app.stop().await;
}

async fn the_cache_can_be_turned_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("LIST_CACHE_ENTRIES", "0")]).await;
    let acme = Tenant::new("acme");
    let admin = app.user(&acme, Role::Admin, "Ada");
    let dept = app.department(&admin, "Ops", None).await;
    assert_eq!(list(&app, &admin, "/api/v1/expenses/").await["total"], 0);
    app.expense(&admin, &dept, "7.00", "Taxi").await;
    assert_eq!(list(&app, &admin, "/api/v1/expenses/").await["total"], 1);
    app.stop().await;
}

async fn the_version_moves_only_with_committed_writes_of_its_tenant(backend: Backend) {
    let test_db = test_db(backend).await;
    let owner = expense_service::db::connect(&test_db.url, 2).await.unwrap();
    expense_service::db::migrate(&owner, test_db.app_role.as_deref())
        .await
        .unwrap();
    // As the service's own (non-owner) role: on PostgreSQL the policies apply.
    let db = Db::new(
        expense_service::db::connect(&test_db.app_url, 2)
            .await
            .unwrap(),
    );
    let (a, b) = (new_tenant_scope(), new_tenant_scope());
    assert_eq!(db.tenant_version(&a).await.unwrap(), 0, "no write yet");

    let tx = db.read(&a).await.unwrap();
    departments::list(&a, tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        db.tenant_version(&a).await.unwrap(),
        0,
        "a read bumps nothing"
    );

    let new = |name: &str| NewDepartment {
        name: expense_service::domain::DepartmentName::parse(name).unwrap(),
        monthly_budget: None,
    };
    let tx = db.write(&a).await.unwrap();
    departments::create(&a, tx.conn(), new("Ops"))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(
        db.tenant_version(&a).await.unwrap(),
        0,
        "a rolled-back write bumps nothing"
    );
    let tx = db.read(&a).await.unwrap();
    assert!(departments::list(&a, tx.conn()).await.unwrap().is_empty());
    tx.commit().await.unwrap();

    for expected in 1..=2 {
        let tx = db.write(&a).await.unwrap();
        departments::create(&a, tx.conn(), new(&format!("Ops {expected}")))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.tenant_version(&a).await.unwrap(), expected);
    }
    assert_eq!(
        db.tenant_version(&b).await.unwrap(),
        0,
        "another tenant's is its own"
    );

    if backend == Backend::Postgres {
        // Inside tenant A's transaction, tenant B's version cannot be written.
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let tx = db.write(&a).await.unwrap();
        let forged = tx
            .conn()
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO tenant_versions (tenant_id, version) VALUES ($1, 99)",
                [b.tenant_id().into()],
            ))
            .await;
        assert!(forged.is_err(), "row-level security refuses it: {forged:?}");
        drop(tx);
        assert_eq!(db.tenant_version(&b).await.unwrap(), 0);
    }
}
