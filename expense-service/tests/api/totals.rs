//! Issue 13: the list's count and budget totals come from `expense_totals`, maintained in the
//! same transaction as every write. Property: after random creations, edits, deletions,
//! approvals and rejections (refused ones included), the table equals a fresh GROUP BY over
//! the expenses, on both databases (as the RLS-restricted app role on PostgreSQL). And the
//! migration's backfill aggregates the rows that existed before it. Walking the list's cursor
//! visits every row once.

use std::collections::BTreeMap;

use chrono::{Days, Utc};
use expense_migration::{Migrator, MigratorTrait};
use expense_service::db::{self, Db};
use expense_service::domain::{DepartmentName, ExpenseInput, ExpenseStatus, Reason};
use expense_service::entities::{expense, expense_total};
use expense_service::repo::expenses::{Decision, ExpenseFilter, PageRequest};
use expense_service::repo::{Actor, departments, expenses};
use expense_service::tenant::TenantScope;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::api::helpers::{Backend, new_tenant_scope as scope, test_db};
use test_support::db_tests;

db_tests!(blocking; incremental_totals_equal_a_fresh_group_by);
db_tests!(the_migration_backfills_totals_from_existing_expenses);

/// Fields of a created or edited expense: department, month (days back), currency, cents.
#[derive(Clone, Debug)]
struct Fields {
    dept: usize,
    days_back: u64,
    currency: usize,
    cents: u32,
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        actor: usize,
        f: Fields,
    },
    Edit {
        actor: usize,
        target: usize,
        f: Fields,
    },
    Delete {
        actor: usize,
        target: usize,
    },
    Approve {
        actor: usize,
        target: usize,
    },
    Reject {
        actor: usize,
        target: usize,
    },
}

const ACTORS: usize = 3;
const CURRENCIES: [&str; 2] = ["EUR", "USD"];

fn fields() -> impl Strategy<Value = Fields> {
    (
        0..2usize,
        prop_oneof![Just(0u64), Just(40), Just(80)],
        0..2usize,
        1..100_000u32,
    )
        .prop_map(|(dept, days_back, currency, cents)| Fields {
            dept,
            days_back,
            currency,
            cents,
        })
}

fn op() -> impl Strategy<Value = Op> {
    let a = 0..ACTORS;
    let t = 0..12usize;
    prop_oneof![
        4 => (a.clone(), fields()).prop_map(|(actor, f)| Op::Create { actor, f }),
        2 => (a.clone(), t.clone(), fields()).prop_map(|(actor, target, f)| Op::Edit { actor, target, f }),
        1 => (a.clone(), t.clone()).prop_map(|(actor, target)| Op::Delete { actor, target }),
        2 => (a.clone(), t.clone()).prop_map(|(actor, target)| Op::Approve { actor, target }),
        1 => (a, t).prop_map(|(actor, target)| Op::Reject { actor, target }),
    ]
}

fn input(f: &Fields, depts: &[Uuid]) -> expense_service::domain::ValidExpense {
    let today = Utc::now().date_naive();
    let day = today.checked_sub_days(Days::new(f.days_back)).unwrap();
    ExpenseInput {
        amount: format!("{}.{:02}", f.cents / 100, f.cents % 100),
        currency: CURRENCIES[f.currency].into(),
        description: "x".into(),
        spent_on: day.to_string(),
        department_id: depts[f.dept].to_string(),
    }
    .validate(today)
    .unwrap()
}

type Group = (Uuid, String, String, String);

/// `expense_totals` of the tenant, groups with a zero count left out.
async fn maintained(
    conn: &impl ConnectionTrait,
    scope: &TenantScope,
) -> BTreeMap<Group, (i64, i64)> {
    expense_total::Entity::find()
        .filter(expense_total::Column::TenantId.eq(scope.tenant_id()))
        .all(conn)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.row_count != 0 || t.amount_minor != 0)
        .map(|t| {
            (
                (t.department_id, t.spent_month, t.currency, t.status),
                (t.row_count, t.amount_minor),
            )
        })
        .collect()
}

/// A fresh GROUP BY over the tenant's expenses.
async fn fresh(conn: &impl ConnectionTrait, scope: &TenantScope) -> BTreeMap<Group, (i64, i64)> {
    use expense::Column as C;
    let rows: Vec<(Uuid, String, String, String, i64, i64)> = expense::Entity::find()
        .filter(C::TenantId.eq(scope.tenant_id()))
        .select_only()
        .column(C::DepartmentId)
        .column(C::SpentMonth)
        .column(C::Currency)
        .column(C::Status)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .column_as(Expr::cust("CAST(SUM(amount_minor) AS BIGINT)"), "s")
        .group_by(C::DepartmentId)
        .group_by(C::SpentMonth)
        .group_by(C::Currency)
        .group_by(C::Status)
        .into_tuple()
        .all(conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(d, m, c, s, n, sum)| ((d, m, c, s), (n, sum)))
        .collect()
}

async fn run_ops(app: &Db, scope: &TenantScope, actors: &[Actor], depts: &[Uuid], ops: Vec<Op>) {
    let mut ids: Vec<Uuid> = Vec::new();
    let pick = |ids: &Vec<Uuid>, target: usize| ids.get(target % ids.len().max(1)).copied();
    for op in ops {
        let tx = app.write(scope).await.unwrap();
        let c = tx.conn();
        let ok = match op {
            Op::Create { actor, f } => {
                let e = expenses::create(scope, c, &actors[actor], input(&f, depts)).await;
                if let Ok(e) = &e {
                    ids.push(e.id);
                }
                e.is_ok()
            }
            Op::Edit { actor, target, f } => match pick(&ids, target) {
                Some(id) => {
                    expenses::update_pending(scope, c, id, &actors[actor], input(&f, depts))
                        .await
                        .is_ok()
                }
                None => false,
            },
            Op::Delete { actor, target } => match pick(&ids, target) {
                Some(id) => expenses::delete_pending(scope, c, id, &actors[actor])
                    .await
                    .is_ok(),
                None => false,
            },
            Op::Approve { actor, target } | Op::Reject { actor, target } => {
                let decision = if matches!(op, Op::Approve { .. }) {
                    Decision::Approve
                } else {
                    Decision::Reject
                };
                match pick(&ids, target) {
                    Some(id) => {
                        let reason = Reason::parse(Some("because"), true).unwrap();
                        expenses::review(scope, c, id, &actors[actor], decision, reason)
                            .await
                            .is_ok()
                    }
                    None => false,
                }
            }
        };
        // A refused operation rolls back (dropped transaction), as the service does.
        if ok {
            tx.commit().await.unwrap();
        }
    }
}

/// Walking the list's cursor visits the filter's rows once, in order (the same as one page
/// with every row).
async fn cursor_walk_is_the_whole_list(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    filter: &ExpenseFilter,
) {
    let c = conn;
    let everything = PageRequest {
        page: 1,
        per_page: 1000,
        after: None,
    };
    let (all, _) = expenses::page_items(scope, c, filter, everything)
        .await
        .unwrap();
    let mut walked = Vec::new();
    let mut req = PageRequest {
        page: 1,
        per_page: 3,
        after: None,
    };
    loop {
        let (items, next) = expenses::page_items(scope, c, filter, req).await.unwrap();
        walked.extend(items);
        match next {
            Some(at) => {
                req = PageRequest {
                    page: req.page + 1,
                    per_page: 3,
                    after: Some(at),
                };
            }
            None => break,
        }
    }
    assert_eq!(walked, all, "{filter:?}");
}

fn incremental_totals_equal_a_fresh_group_by(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let test_db = rt.block_on(test_db(backend));
    let app = rt.block_on(async {
        let owner = db::connect(&test_db.url, 2).await.unwrap();
        db::migrate(&owner, test_db.app_role.as_deref())
            .await
            .unwrap();
        // The application role: row-level security applies to it on PostgreSQL.
        Db::new(db::connect(&test_db.app_url, 2).await.unwrap())
    });
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(op(), 1..40), |ops| {
            rt.block_on(async {
                let scope = scope();
                let actors: Vec<Actor> = (0..ACTORS)
                    .map(|i| Actor {
                        id: Uuid::new_v4(),
                        name: format!("Actor {i}"),
                    })
                    .collect();
                let tx = app.write(&scope).await.unwrap();
                let mut depts = Vec::new();
                for name in ["Sales", "Ops"] {
                    let d = departments::create(
                        &scope,
                        tx.conn(),
                        departments::NewDepartment {
                            name: DepartmentName::parse(name).unwrap(),
                            monthly_budget: None,
                        },
                    )
                    .await
                    .unwrap();
                    depts.push(d.id);
                }
                tx.commit().await.unwrap();

                run_ops(&app, &scope, &actors, &depts, ops).await;

                let tx = app.read(&scope).await.unwrap();
                let want = fresh(tx.conn(), &scope).await;
                assert_eq!(maintained(tx.conn(), &scope).await, want);
                // The list's count, per status filter and in all, agrees with the rows.
                for status in [
                    None,
                    Some(ExpenseStatus::Pending),
                    Some(ExpenseStatus::Approved),
                    Some(ExpenseStatus::Rejected),
                ] {
                    let filter = ExpenseFilter {
                        status,
                        ..ExpenseFilter::default()
                    };
                    let expected: i64 = want
                        .iter()
                        .filter(|(k, _)| status.is_none_or(|s| k.3 == s.as_str()))
                        .map(|(_, v)| v.0)
                        .sum();
                    let got = expenses::count(&scope, tx.conn(), &filter).await.unwrap();
                    assert_eq!(got, u64::try_from(expected).unwrap(), "{status:?}");
                    let (summed, _) = expenses::summary(&scope, tx.conn(), &filter).await.unwrap();
                    assert_eq!(summed, got, "{status:?}");
                    cursor_walk_is_the_whole_list(&scope, tx.conn(), &filter).await;
                }
                // Budget totals: approved and pending sums per department, month, currency.
                let mut sums: BTreeMap<(Uuid, String, String), (i64, i64)> = BTreeMap::new();
                for ((d, m, c, s), (_, sum)) in &want {
                    let e = sums.entry((*d, m.clone(), c.clone())).or_default();
                    if s == "approved" {
                        e.0 += sum;
                    } else if s == "pending" {
                        e.1 += sum;
                    }
                }
                let totals = expenses::totals(&scope, tx.conn(), &ExpenseFilter::default())
                    .await
                    .unwrap();
                let got: BTreeMap<(Uuid, String, String), (i64, i64)> = totals
                    .into_iter()
                    .map(|t| {
                        (
                            (t.department_id, t.month, t.currency),
                            (t.approved_minor, t.pending_minor),
                        )
                    })
                    .collect();
                let want_sums: BTreeMap<_, _> = want
                    .iter()
                    .filter(|(k, _)| k.3 != "rejected")
                    .map(|(k, _)| {
                        (
                            (k.0, k.1.clone(), k.2.clone()),
                            sums[&(k.0, k.1.clone(), k.2.clone())],
                        )
                    })
                    .collect();
                assert_eq!(got, want_sums);
                tx.commit().await.unwrap();
            });
            Ok(())
        })
        .unwrap();
}

async fn the_migration_backfills_totals_from_existing_expenses(backend: Backend) {
    let test_db = test_db(backend).await;
    let owner = db::connect(&test_db.url, 2).await.unwrap();
    // The schema as it was before issue 13, with rows in it.
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261130_000001_expense_totals")
        .unwrap();
    Migrator::up(&owner, Some(u32::try_from(before).unwrap()))
        .await
        .unwrap();
    let (a, b) = (scope(), scope());
    let dept_a = Uuid::new_v4();
    let dept_b = Uuid::new_v4();
    let pg = owner.get_database_backend() == DbBackend::Postgres;
    let p = |i: usize| if pg { format!("${i}") } else { "?".to_owned() };
    let now = Utc::now();
    for (s, d) in [(a, dept_a), (b, dept_b)] {
        owner
            .execute_raw(Statement::from_sql_and_values(
                owner.get_database_backend(),
                format!(
                    "INSERT INTO departments (id, tenant_id, name, created_at) VALUES ({}, {}, 'Sales', {})",
                    p(1),
                    p(2),
                    p(3)
                ),
                [d.into(), s.tenant_id().into(), now.into()],
            ))
            .await
            .unwrap();
    }
    let rows: [(TenantScope, Uuid, i64, &str, &str); 5] = [
        (a, dept_a, 100, "2026-10", "pending"),
        (a, dept_a, 250, "2026-10", "pending"),
        (a, dept_a, 7, "2026-10", "approved"),
        (a, dept_a, 9, "2026-09", "rejected"),
        (b, dept_b, 1000, "2026-10", "pending"),
    ];
    for (s, d, minor, month, status) in rows {
        owner
            .execute_raw(Statement::from_sql_and_values(
                owner.get_database_backend(),
                format!(
                    "INSERT INTO expenses (id, tenant_id, owner_id, owner_name, department_id, amount_minor, \
                     currency, description, spent_on, spent_month, status, created_at, updated_at) \
                     VALUES ({}, {}, {}, 'Ann', {}, {}, 'EUR', 'x', {}, {}, {}, {}, {})",
                    p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8), p(9), p(10)
                ),
                [
                    Uuid::new_v4().into(),
                    s.tenant_id().into(),
                    Uuid::new_v4().into(),
                    d.into(),
                    minor.into(),
                    chrono::NaiveDate::parse_from_str(&format!("{month}-15"), "%Y-%m-%d").unwrap().into(),
                    month.into(),
                    status.into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await
            .unwrap();
    }
    db::migrate(&owner, test_db.app_role.as_deref())
        .await
        .unwrap();
    let app = Db::new(db::connect(&test_db.app_url, 2).await.unwrap());
    for s in [a, b] {
        let tx = app.read(&s).await.unwrap();
        let want = fresh(tx.conn(), &s).await;
        assert!(!want.is_empty());
        assert_eq!(maintained(tx.conn(), &s).await, want);
        tx.commit().await.unwrap();
    }
    let tx = app.read(&a).await.unwrap();
    assert_eq!(
        expenses::count(&a, tx.conn(), &ExpenseFilter::default())
            .await
            .unwrap(),
        4
    );
    tx.commit().await.unwrap();
}
