//! `expense-service seed-bench`: fills the tenant of a verified access token with N
//! synthetic expenses in one transaction (multi-row INSERTs), for `scripts/bench` (issue 13).
//! 100,000 rows through the HTTP API would take minutes; this takes seconds. The tenant comes
//! from the token (verified with the service's own keys), never from a bare id, and on
//! PostgreSQL the rows go through the tenant transaction, so row-level security applies.

use anyhow::Context as _;
use chrono::{Days, Utc};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Set, Statement};
use secrecy::ExposeSecret as _;
use shared_jwt::{AuthContext, CurrentUser};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::{self, Db};
use crate::domain::{DepartmentName, ExpenseStatus};
use crate::entities::expense;
use crate::repo::departments;
use crate::tenant::TenantScope;

/// Rows are spread over this many days whatever their number, so a small and a big tenant
/// have the same departments, months and currencies (the same number of totals lines) and
/// differ only in their number of expenses.
const SPREAD_DAYS: usize = 90;

/// Rows per INSERT statement (17 columns: below SQLite's and PostgreSQL's parameter limits).
const BATCH: usize = 1000;

/// Adds `count` expenses to the token's tenant, spread over three departments,
/// two currencies and the three statuses over the last 90 days; returns the tenant id.
///
/// # Errors
/// An invalid token; database errors.
pub async fn bench_rows(settings: &Settings, token: &str, count: usize) -> anyhow::Result<Uuid> {
    let auth = AuthContext::from_settings(settings.auth.clone())
        .await
        .context("loading the verifying keys")?;
    let claims = auth
        .verifier
        .verify(token.trim())
        .context("the access token does not verify")?;
    let scope = TenantScope::of(&CurrentUser(claims));
    let conn = db::connect(settings.database_url.expose_secret(), 2)
        .await
        .context("connecting to DATABASE_URL")?;
    let db = Db::new(conn);
    let tx = db.write(&scope).await?;
    let c = tx.conn();
    let mut depts = departments::list(&scope, c).await?;
    for name in ["Bench A", "Bench B", "Bench C"] {
        if !depts.iter().any(|d| d.name == name) {
            let d = departments::create(
                &scope,
                c,
                departments::NewDepartment {
                    name: DepartmentName::parse(name).map_err(anyhow::Error::msg)?,
                    monthly_budget: None,
                },
            )
            .await?;
            depts.push(d);
        }
    }
    let owners: Vec<Uuid> = (0..10).map(|_| Uuid::new_v4()).collect();
    let today = Utc::now().date_naive();
    let now = Utc::now();
    let statuses = [
        ExpenseStatus::Pending,
        ExpenseStatus::Approved,
        ExpenseStatus::Rejected,
    ];
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let rows = (done..done + n).map(|i| {
            let day = today
                .checked_sub_days(Days::new(u64::try_from(i % SPREAD_DAYS).unwrap_or(0)))
                .unwrap_or(today);
            let status = statuses[i % 3];
            let created = now - chrono::Duration::milliseconds(i64::try_from(i).unwrap_or(0));
            expense::ActiveModel {
                id: Set(Uuid::new_v4()),
                tenant_id: Set(scope.tenant_id()),
                owner_id: Set(owners[i % owners.len()]),
                owner_name: Set(format!("Bench user {}", i % owners.len())),
                department_id: Set(depts[i % depts.len()].id),
                amount_minor: Set(i64::try_from(100 + (i * 37) % 50_000).unwrap_or(100)),
                currency: Set(if i % 5 == 0 { "USD" } else { "EUR" }.to_owned()),
                description: Set(format!("Bench expense {i}")),
                spent_on: Set(day),
                spent_month: Set(day.format("%Y-%m").to_string()),
                status: Set(status.as_str().to_owned()),
                reviewer_id: Set(None),
                reviewer_name: Set(None),
                reviewed_at: Set(None),
                reason: Set(None),
                created_at: Set(created),
                updated_at: Set(created),
            }
        });
        expense::Entity::insert_many(rows)
            .exec_without_returning(c)
            .await?;
        done += n;
    }
    // The totals of the tenant, recomputed from its rows (the migration's backfill, scoped).
    let backend = c.get_database_backend();
    let p = db::placeholder(backend);
    c.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM expense_totals WHERE tenant_id = {p}"),
        [scope.tenant_id().into()],
    ))
    .await?;
    c.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO expense_totals \
             (tenant_id, department_id, spent_month, currency, status, row_count, amount_minor) \
             SELECT tenant_id, department_id, spent_month, currency, status, \
                    COUNT(*), CAST(SUM(amount_minor) AS BIGINT) \
             FROM expenses WHERE tenant_id = {p} \
             GROUP BY tenant_id, department_id, spent_month, currency, status"
        ),
        [scope.tenant_id().into()],
    ))
    .await?;
    tx.commit().await?;
    if backend == DbBackend::Postgres {
        // Fresh statistics, so the planner sees the new rows at once.
        let _ = db.pool().execute_unprepared("ANALYZE expenses").await;
    } else {
        let _ = db.pool().execute_unprepared("ANALYZE").await;
    }
    Ok(scope.tenant_id())
}
