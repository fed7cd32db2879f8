//! The second isolation layer: PostgreSQL row-level security, run as the non-owner app role.
//! Queries here deliberately forget `WHERE tenant_id = …`.

use expense_service::db::{self, Db};
use expense_service::domain::ExpenseInput;
use expense_service::repo::{Actor, departments, expenses};
use expense_service::tenant::TenantScope;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use uuid::Uuid;

use crate::api::helpers::{Backend, new_tenant_scope, test_db, today};

async fn tenant_ids(conn: &impl ConnectionTrait, sql: &str) -> Vec<Uuid> {
    conn.query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("query")
        .iter()
        .map(|row| row.try_get::<Uuid>("", "tenant_id").expect("tenant_id"))
        .collect()
}

/// Two tenants with one department and two expenses each, written through the repository.
async fn seed(app: &Db) -> (TenantScope, TenantScope) {
    let (a, b) = (new_tenant_scope(), new_tenant_scope());
    for scope in [a, b] {
        let tx = app.write(&scope).await.unwrap();
        let dept = departments::create(
            &scope,
            tx.conn(),
            departments::NewDepartment {
                name: expense_service::domain::DepartmentName::parse("Sales").unwrap(),
                monthly_budget: None,
            },
        )
        .await
        .unwrap();
        let actor = Actor {
            id: Uuid::new_v4(),
            name: "Ann".into(),
        };
        for amount in ["1.00", "2.00"] {
            let input = ExpenseInput {
                amount: amount.into(),
                currency: "EUR".into(),
                description: "x".into(),
                spent_on: today(),
                department_id: dept.id.to_string(),
            };
            let valid = input.validate(chrono::Utc::now().date_naive()).unwrap();
            expenses::create(&scope, tx.conn(), &actor, valid)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    (a, b)
}

#[tokio::test]
async fn unscoped_queries_in_a_tenant_transaction_see_only_that_tenant() {
    if test_support::postgres_skipped() {
        return;
    }
    let test_db = test_db(Backend::Postgres).await;
    let owner = db::connect(&test_db.url, 2).await.unwrap();
    db::migrate(&owner, test_db.app_role.as_deref())
        .await
        .unwrap();
    let conn: DatabaseConnection = db::connect(&test_db.app_url, 2).await.unwrap();
    let app = Db::new(conn.clone());
    let (a, b) = seed(&app).await;

    // The app role neither owns the tables nor bypasses RLS, and RLS is forced.
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS me, \
                    (SELECT tableowner::text FROM pg_tables WHERE tablename = 'expenses') AS owner, \
                    (SELECT relforcerowsecurity FROM pg_class WHERE relname = 'expenses') AS forced, \
                    (SELECT relforcerowsecurity FROM pg_class WHERE relname = 'departments') AS forced_d",
        ))
        .await
        .unwrap()
        .unwrap();
    let me: String = row.try_get("", "me").unwrap();
    let owner_name: String = row.try_get("", "owner").unwrap();
    assert_eq!(Some(me.as_str()), test_db.app_role.as_deref());
    assert_ne!(me, owner_name);
    assert!(row.try_get::<bool>("", "forced").unwrap());
    assert!(row.try_get::<bool>("", "forced_d").unwrap());

    // Inside A's transaction, a query without any tenant filter returns A's rows only.
    let tx = app.read(&a).await.unwrap();
    let seen = tenant_ids(tx.conn(), "SELECT tenant_id FROM expenses").await;
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|t| *t == a.tenant_id()));
    let seen = tenant_ids(tx.conn(), "SELECT tenant_id FROM departments").await;
    assert_eq!(seen, vec![a.tenant_id()]);
    tx.commit().await.unwrap();

    // An unscoped UPDATE in B's transaction touches B's rows only.
    let tx = app.write(&b).await.unwrap();
    let res = tx
        .conn()
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "UPDATE expenses SET description = 'hacked'",
        ))
        .await
        .unwrap();
    assert_eq!(res.rows_affected(), 2);
    // Writing a row for another tenant is refused by the policy's WITH CHECK.
    let err = tx
        .conn()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO departments (id, tenant_id, name, created_at) VALUES ($1, $2, 'Smuggled', now())",
            [Uuid::new_v4().into(), a.tenant_id().into()],
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx); // rolled back

    let tx = app.read(&a).await.unwrap();
    let rows = tx
        .conn()
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT description FROM expenses",
        ))
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| r.try_get::<String>("", "description").unwrap() == "x")
    );
    tx.commit().await.unwrap();

    // No tenant set: nothing at all, on a plain connection and in a bare transaction, even
    // after the pooled connection served a tenant transaction (SET LOCAL doesn't leak).
    for _ in 0..3 {
        assert!(
            tenant_ids(&conn, "SELECT tenant_id FROM expenses")
                .await
                .is_empty()
        );
    }
    let bare = conn.begin().await.unwrap();
    assert!(
        tenant_ids(&bare, "SELECT tenant_id FROM expenses")
            .await
            .is_empty()
    );
    assert!(
        tenant_ids(&bare, "SELECT tenant_id FROM departments")
            .await
            .is_empty()
    );
    bare.commit().await.unwrap();

    // The owner (superuser here) still sees both: the data is there, RLS hid it.
    let all = tenant_ids(&owner, "SELECT tenant_id FROM expenses").await;
    assert_eq!(all.len(), 4);
    conn.close().await.unwrap();
    owner.close().await.unwrap();
}
