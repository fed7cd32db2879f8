//! The first isolation layer on its own: every repository function confines itself to its
//! `TenantScope`, even on a connection that row-level security does not restrict (SQLite, and
//! on PostgreSQL the superuser that owns the test database).

use expense_service::db::{self, Db};
use expense_service::domain::{DepartmentName, ExpenseInput, Reason};
use expense_service::repo::expenses::{Decision, ExpenseFilter, PageRequest, Position};
use expense_service::repo::{Actor, RepoError, departments, expenses};
use uuid::Uuid;

use crate::api::helpers::{Backend, new_tenant_scope as scope, test_db, today};
use test_support::db_tests;

db_tests!(repository_functions_never_reach_another_tenant);

fn input(department: Uuid) -> expense_service::domain::ValidExpense {
    ExpenseInput {
        amount: "3.00".into(),
        currency: "EUR".into(),
        description: "x".into(),
        spent_on: today(),
        department_id: department.to_string(),
    }
    .validate(chrono::Utc::now().date_naive())
    .unwrap()
}

fn not_found<T: std::fmt::Debug>(r: Result<T, RepoError>) {
    assert!(matches!(r, Err(RepoError::NotFound)), "{r:?}");
}

async fn repository_functions_never_reach_another_tenant(backend: Backend) {
    let test_db = test_db(backend).await;
    // The owner's connection: on PostgreSQL a superuser, which RLS does not restrict.
    let conn = db::connect(&test_db.url, 2).await.unwrap();
    db::migrate(&conn, test_db.app_role.as_deref())
        .await
        .unwrap();
    let app = Db::new(conn.clone());
    let (a, b) = (scope(), scope());
    let (ann, bea) = (
        Actor {
            id: Uuid::new_v4(),
            name: "Ann".into(),
        },
        Actor {
            id: Uuid::new_v4(),
            name: "Bea".into(),
        },
    );

    let tx = app.write(&b).await.unwrap();
    let b_dept = departments::create(
        &b,
        tx.conn(),
        departments::NewDepartment {
            name: DepartmentName::parse("Ops").unwrap(),
            monthly_budget: None,
        },
    )
    .await
    .unwrap();
    let b_exp = expenses::create(&b, tx.conn(), &bea, input(b_dept.id))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let tx = app.write(&a).await.unwrap();
    let a_dept = departments::create(
        &a,
        tx.conn(),
        departments::NewDepartment {
            name: DepartmentName::parse("Ops").unwrap(),
            monthly_budget: None,
        },
    )
    .await
    .unwrap();
    expenses::create(&a, tx.conn(), &ann, input(a_dept.id))
        .await
        .unwrap();
    // Tenant A reaching for B's rows by id, as B's own user id even.
    let c = tx.conn();
    not_found(expenses::get(&a, c, b_exp.id).await);
    not_found(expenses::update_pending(&a, c, b_exp.id, &bea, input(b_dept.id)).await);
    not_found(expenses::delete_pending(&a, c, b_exp.id, &bea).await);
    not_found(
        expenses::review(
            &a,
            c,
            b_exp.id,
            &ann,
            Decision::Approve,
            Reason::parse(None, false).unwrap(),
        )
        .await,
    );
    not_found(departments::get(&a, c, b_dept.id).await);
    let refused = expenses::create(&a, c, &ann, input(b_dept.id)).await;
    assert!(matches!(refused, Err(RepoError::Invalid(_))), "{refused:?}");
    let page = expenses::list(
        &a,
        c,
        &ExpenseFilter::default(),
        PageRequest {
            page: 1,
            per_page: 100,
            after: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(page.total, 1);
    assert!(page.items.iter().all(|e| e.tenant_id == a.tenant_id()));
    let by_b_dept = ExpenseFilter {
        department_id: Some(b_dept.id),
        ..ExpenseFilter::default()
    };
    assert_eq!(
        expenses::list(
            &a,
            c,
            &by_b_dept,
            PageRequest {
                page: 1,
                per_page: 100,
                after: None,
            }
        )
        .await
        .unwrap()
        .total,
        0
    );
    let totals = expenses::totals(&a, c, &ExpenseFilter::default())
        .await
        .unwrap();
    assert!(totals.iter().all(|t| t.department_id == a_dept.id));
    assert_eq!(
        departments::list(&a, c).await.unwrap(),
        vec![a_dept.clone()]
    );
    // A page that starts at B's row (a cursor of B's list): A's rows only.
    for after in [None, Some(Position::of(&b_exp))] {
        let page = PageRequest {
            page: 2,
            per_page: 100,
            after,
        };
        let (items, _) = expenses::page_items(&a, c, &ExpenseFilter::default(), page)
            .await
            .unwrap();
        assert!(items.iter().all(|e| e.tenant_id == a.tenant_id()));
    }
    tx.commit().await.unwrap();

    // B's expense is untouched.
    let tx = app.read(&b).await.unwrap();
    assert_eq!(expenses::get(&b, tx.conn(), b_exp.id).await.unwrap(), b_exp);
    tx.commit().await.unwrap();
    conn.close().await.unwrap();
}
