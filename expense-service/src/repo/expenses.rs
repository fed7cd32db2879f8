//! Expense queries, always within one tenant.
//!
//! State changes are single conditional `UPDATE`/`DELETE` statements (`… AND status =
//! 'pending' AND owner_id = …`), so check-then-act races can't approve twice or edit an
//! approved expense; only when nothing matched do we read the row to say why.
//!
//! Every write also updates `expense_totals` (count and sum per department, month, currency
//! and status) in the same transaction, so the list's count and totals read a handful of
//! group rows instead of the whole tenant. A change to an existing row first locks it
//! (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises
//! writers), so the old values subtracted are exactly the ones replaced.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{Actor, RepoError, departments};
use crate::domain::{ExpenseStatus, FieldErrors, Month, Reason, ValidExpense};
use crate::entities::expense::{ActiveModel, Column, Entity, Model};
use crate::entities::expense_total;
use crate::tenant::TenantScope;

/// List filters (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExpenseFilter {
    /// Only this status.
    pub status: Option<ExpenseStatus>,
    /// Only this department.
    pub department_id: Option<Uuid>,
    /// Only this month of `spent_on`.
    pub month: Option<Month>,
}

/// A page request: 1-based page number and page size, and where the page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// 1-based. Without `after` the page skips `(page - 1) × per_page` rows (`OFFSET`); with
    /// it, it only labels the page.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
    /// Keyset pagination: the page starts right after this row of the list's order, read by
    /// index whatever its depth.
    pub after: Option<Position>,
}

/// A row's place in the list's order (`spent_on`, `created_at`, `id`, all descending): the
/// last row of a page, where the next page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The row's `spent_on`.
    pub spent_on: chrono::NaiveDate,
    /// The row's `created_at`, exactly as stored.
    pub created_at: chrono::DateTime<Utc>,
    /// The row's id (the tie-breaker).
    pub id: Uuid,
}

impl Position {
    /// The position of `row`.
    #[must_use]
    pub fn of(row: &Model) -> Self {
        Position {
            spent_on: row.spent_on,
            created_at: row.created_at,
            id: row.id,
        }
    }
}

/// One page of expenses and the total number of matching rows.
#[derive(Clone, Debug)]
pub struct ExpensePage {
    /// The rows, newest first.
    pub items: Vec<Model>,
    /// How many rows match the filter in all.
    pub total: u64,
    /// Where the next page starts (`None` on the last page).
    pub next: Option<Position>,
}

/// Sums for one department, month and currency (rejected expenses never count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotalRow {
    /// The department.
    pub department_id: Uuid,
    /// `YYYY-MM`.
    pub month: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Sum of approved amounts, minor units.
    pub approved_minor: i64,
    /// Sum of pending amounts, minor units.
    pub pending_minor: i64,
}

/// Review decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Approve.
    Approve,
    /// Reject (a reason is required by the caller).
    Reject,
}

fn unknown_department() -> RepoError {
    let mut errors = FieldErrors::new();
    errors.add("department_id", "Choose a department of your organization.");
    RepoError::Invalid(errors)
}

/// Checks the department belongs to the scope's tenant (the composite foreign key enforces
/// it again in the database).
async fn require_department(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    department_id: Uuid,
) -> Result<(), RepoError> {
    match departments::get(scope, conn, department_id).await {
        Ok(_) => Ok(()),
        Err(RepoError::NotFound) => Err(unknown_department()),
        Err(e) => Err(e),
    }
}

fn scoped(scope: &TenantScope) -> sea_orm::Select<Entity> {
    Entity::find().filter(Column::TenantId.eq(scope.tenant_id()))
}

fn filter_condition(filter: &ExpenseFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(status) = filter.status {
        cond = cond.add(Column::Status.eq(status.as_str()));
    }
    if let Some(dept) = filter.department_id {
        cond = cond.add(Column::DepartmentId.eq(dept));
    }
    if let Some(month) = filter.month {
        cond = cond.add(Column::SpentMonth.eq(month.key()));
    }
    cond
}

/// Adds `sign` (±1) times `e`'s count and amount to its group in `expense_totals`, under
/// `status` (the row's status before or after the change).
async fn bump_totals(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    e: &Model,
    status: ExpenseStatus,
    sign: i64,
) -> Result<(), RepoError> {
    use expense_total::Column as T;
    let row = expense_total::ActiveModel {
        tenant_id: Set(scope.tenant_id()),
        department_id: Set(e.department_id),
        spent_month: Set(e.spent_month.clone()),
        currency: Set(e.currency.clone()),
        status: Set(status.as_str().to_owned()),
        row_count: Set(sign),
        amount_minor: Set(sign.saturating_mul(e.amount_minor)),
    };
    expense_total::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                T::TenantId,
                T::DepartmentId,
                T::SpentMonth,
                T::Currency,
                T::Status,
            ])
            .value(
                T::RowCount,
                Expr::cust("expense_totals.row_count + excluded.row_count"),
            )
            .value(
                T::AmountMinor,
                Expr::cust("expense_totals.amount_minor + excluded.amount_minor"),
            )
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Reads one expense of the tenant and locks it until the transaction ends (PostgreSQL;
/// SQLite's write transactions are already exclusive).
async fn get_locked(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Model, RepoError> {
    scoped(scope)
        .filter(Column::Id.eq(id))
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(RepoError::NotFound)
}

/// Creates a pending expense owned by `owner`.
///
/// # Errors
/// [`RepoError::Invalid`] when the department is not the tenant's; database errors.
pub async fn create(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    owner: &Actor,
    input: ValidExpense,
) -> Result<Model, RepoError> {
    require_department(scope, conn, input.department_id).await?;
    let now = Utc::now();
    let row = ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(scope.tenant_id()),
        owner_id: Set(owner.id),
        owner_name: Set(owner.name.clone()),
        department_id: Set(input.department_id),
        amount_minor: Set(input.money.minor()),
        currency: Set(input.money.currency().code().to_owned()),
        description: Set(input.description.into_inner()),
        spent_on: Set(input.spent_on.date()),
        spent_month: Set(input.spent_on.month().key()),
        status: Set(ExpenseStatus::Pending.as_str().to_owned()),
        reviewer_id: Set(None),
        reviewer_name: Set(None),
        reviewed_at: Set(None),
        reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let created = row.insert(conn).await?;
    bump_totals(scope, conn, &created, ExpenseStatus::Pending, 1).await?;
    Ok(created)
}

/// One expense of the tenant.
///
/// # Errors
/// [`RepoError::NotFound`] when it is not this tenant's; database errors.
pub async fn get(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Model, RepoError> {
    scoped(scope)
        .filter(Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(RepoError::NotFound)
}

/// A page of the tenant's expenses matching `filter`, newest first, with the number of
/// matching rows.
///
/// # Errors
/// Database errors.
pub async fn list(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    filter: &ExpenseFilter,
    page: PageRequest,
) -> Result<ExpensePage, RepoError> {
    let total = count(scope, conn, filter).await?;
    let (items, next) = page_items(scope, conn, filter, page).await?;
    Ok(ExpensePage { items, total, next })
}

/// The rows of one page, newest first (an index in this order: a page reads its rows, not
/// the tenant's), and the position of its last row when more rows follow it.
///
/// With [`PageRequest::after`] the page starts after that position (`(spent_on, created_at,
/// id) < (…)`, a range of the index); otherwise it skips the earlier pages' rows (`OFFSET`).
/// One row more than the page is read to know whether there is a next page.
///
/// # Errors
/// Database errors.
pub async fn page_items(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    filter: &ExpenseFilter,
    page: PageRequest,
) -> Result<(Vec<Model>, Option<Position>), RepoError> {
    let mut query = scoped(scope).filter(filter_condition(filter));
    query = match page.after {
        Some(after) => query.filter(
            Expr::tuple([
                Expr::col(Column::SpentOn),
                Expr::col(Column::CreatedAt),
                Expr::col(Column::Id),
            ])
            .lt(Expr::tuple([
                Expr::val(after.spent_on),
                Expr::val(after.created_at),
                Expr::val(after.id),
            ])),
        ),
        None => query.offset(page.page.saturating_sub(1).saturating_mul(page.per_page)),
    };
    let mut items = query
        .order_by_desc(Column::SpentOn)
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(page.per_page.saturating_add(1))
        .all(conn)
        .await?;
    let more = u64::try_from(items.len()).unwrap_or(u64::MAX) > page.per_page;
    if more {
        items.truncate(usize::try_from(page.per_page).unwrap_or(usize::MAX));
    }
    let next = if more {
        items.last().map(Position::of)
    } else {
        None
    };
    Ok((items, next))
}

/// How many of the tenant's expenses match `filter`, from `expense_totals` (a few rows per
/// department and month, whatever the number of expenses).
///
/// # Errors
/// Database errors.
pub async fn count(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    filter: &ExpenseFilter,
) -> Result<u64, RepoError> {
    // SUM(bigint) is numeric on PostgreSQL: cast back so both databases return an i64.
    let n: Option<i64> = totals_scoped(scope, filter)
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(row_count), 0) AS BIGINT)"),
            "n",
        )
        .into_tuple()
        .one(conn)
        .await?;
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
}

/// The tenant's `expense_totals` rows for the filter's status, department and month.
fn totals_scoped(
    scope: &TenantScope,
    filter: &ExpenseFilter,
) -> sea_orm::Select<expense_total::Entity> {
    use expense_total::Column as T;
    let mut cond = Condition::all().add(T::TenantId.eq(scope.tenant_id()));
    if let Some(status) = filter.status {
        cond = cond.add(T::Status.eq(status.as_str()));
    }
    if let Some(dept) = filter.department_id {
        cond = cond.add(T::DepartmentId.eq(dept));
    }
    if let Some(month) = filter.month {
        cond = cond.add(T::SpentMonth.eq(month.key()));
    }
    expense_total::Entity::find().filter(cond)
}

/// Approved and pending sums per department, month and currency, for the filter's department
/// and month (the status filter does not apply: totals always show both), newest month first.
///
/// # Errors
/// Database errors.
pub async fn totals(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    filter: &ExpenseFilter,
) -> Result<Vec<TotalRow>, RepoError> {
    Ok(summary(scope, conn, filter).await?.1)
}

/// The number of expenses matching `filter` and the [`totals`], in one statement over
/// `expense_totals` (one row per department, month and currency, whatever the number of
/// expenses).
///
/// # Errors
/// Database errors.
pub async fn summary(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    filter: &ExpenseFilter,
) -> Result<(u64, Vec<TotalRow>), RepoError> {
    use expense_total::Column as T;
    let by_department_and_month = ExpenseFilter {
        status: None,
        ..filter.clone()
    };
    // SUM(bigint) is numeric on PostgreSQL: cast back so both databases return an i64.
    let sum_if = |column: &str, status: ExpenseStatus| {
        Expr::cust(format!(
            "CAST(SUM(CASE WHEN status = '{}' THEN {column} ELSE 0 END) AS BIGINT)",
            status.as_str()
        ))
    };
    let rows: Vec<SummaryRow> = totals_scoped(scope, &by_department_and_month)
        .select_only()
        .column(T::DepartmentId)
        .column(T::SpentMonth)
        .column(T::Currency)
        .column_as(sum_if("amount_minor", ExpenseStatus::Approved), "approved")
        .column_as(sum_if("amount_minor", ExpenseStatus::Pending), "pending")
        .column_as(sum_if("row_count", ExpenseStatus::Approved), "n_approved")
        .column_as(sum_if("row_count", ExpenseStatus::Pending), "n_pending")
        .column_as(sum_if("row_count", ExpenseStatus::Rejected), "n_rejected")
        .group_by(T::DepartmentId)
        .group_by(T::SpentMonth)
        .group_by(T::Currency)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(fold_summary(rows, filter.status))
}

/// One `expense_totals` group: department, month, currency, approved and pending sums,
/// approved, pending and rejected counts.
type SummaryRow = (Uuid, String, String, i64, i64, i64, i64, i64);

/// The count for `status` (all when `None`) and the totals, from the groups.
fn fold_summary(rows: Vec<SummaryRow>, status: Option<ExpenseStatus>) -> (u64, Vec<TotalRow>) {
    let mut count: i64 = 0;
    let mut out = Vec::with_capacity(rows.len());
    for (department_id, month, currency, approved, pending, n_approved, n_pending, n_rejected) in
        rows
    {
        count = count.saturating_add(match status {
            None => n_approved
                .saturating_add(n_pending)
                .saturating_add(n_rejected),
            Some(ExpenseStatus::Approved) => n_approved,
            Some(ExpenseStatus::Pending) => n_pending,
            Some(ExpenseStatus::Rejected) => n_rejected,
        });
        // Groups with only rejected expenses, or emptied by deletions and reviews (their
        // rows stay with zeros), are not totals: the GROUP BY over the expenses never saw them.
        if n_approved > 0 || n_pending > 0 {
            out.push(TotalRow {
                department_id,
                month,
                currency,
                approved_minor: approved,
                pending_minor: pending,
            });
        }
    }
    // As before: month, department, currency ascending, then newest month first (stable).
    out.sort_by(|a, b| {
        (&a.month, a.department_id, &a.currency).cmp(&(&b.month, b.department_id, &b.currency))
    });
    out.sort_by(|a, b| b.month.cmp(&a.month));
    (u64::try_from(count).unwrap_or(0), out)
}

/// Classifies why a conditional change matched no row.
async fn why_unchanged(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    id: Uuid,
    actor: &Actor,
    reviewing: bool,
) -> RepoError {
    let row = match get(scope, conn, id).await {
        Ok(row) => row,
        Err(e) => return e,
    };
    let verdict = if reviewing && row.owner_id == actor.id {
        Err(RepoError::Forbidden("You cannot review your own expense."))
    } else if reviewing {
        check_pending(&row)
    } else {
        check_changeable(&row, actor)
    };
    // Raced with a concurrent change that has since been undone: report a conflict.
    verdict.err().unwrap_or(RepoError::Conflict(
        "The expense changed meanwhile; try again.",
    ))
}

fn check_owner(row: &Model, actor: &Actor) -> Result<(), RepoError> {
    if row.owner_id == actor.id {
        Ok(())
    } else {
        Err(RepoError::Forbidden(
            "Only the person who filed an expense can change it.",
        ))
    }
}

fn check_pending(row: &Model) -> Result<(), RepoError> {
    if row.status == ExpenseStatus::Pending.as_str() {
        Ok(())
    } else {
        Err(RepoError::Conflict("Only pending expenses can be changed."))
    }
}

/// The rule for editing or deleting an expense: only the person who filed it, only while it is
/// pending.
///
/// # Errors
/// `Forbidden` (someone else's), `Conflict` (not pending).
pub fn check_changeable(row: &Model, actor: &Actor) -> Result<(), RepoError> {
    check_owner(row, actor)?;
    check_pending(row)
}

fn own_pending(scope: &TenantScope, id: Uuid, owner: &Actor) -> Condition {
    Condition::all()
        .add(Column::TenantId.eq(scope.tenant_id()))
        .add(Column::Id.eq(id))
        .add(Column::OwnerId.eq(owner.id))
        .add(Column::Status.eq(ExpenseStatus::Pending.as_str()))
}

/// Replaces the fields of the owner's own pending expense.
///
/// # Errors
/// `NotFound` (not this tenant's), `Forbidden` (someone else's), `Conflict` (not pending),
/// `Invalid` (department not the tenant's); database errors.
pub async fn update_pending(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    id: Uuid,
    owner: &Actor,
    input: ValidExpense,
) -> Result<Model, RepoError> {
    // Order matters for the answer: a foreign id is 404 before its department is judged.
    let old = get_locked(scope, conn, id).await?;
    check_owner(&old, owner)?;
    require_department(scope, conn, input.department_id).await?;
    let result = Entity::update_many()
        .col_expr(Column::AmountMinor, Expr::value(input.money.minor()))
        .col_expr(Column::Currency, Expr::value(input.money.currency().code()))
        .col_expr(
            Column::Description,
            Expr::value(input.description.into_inner()),
        )
        .col_expr(Column::SpentOn, Expr::value(input.spent_on.date()))
        .col_expr(
            Column::SpentMonth,
            Expr::value(input.spent_on.month().key()),
        )
        .col_expr(Column::DepartmentId, Expr::value(input.department_id))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(own_pending(scope, id, owner))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(why_unchanged(scope, conn, id, owner, false).await);
    }
    let new = get(scope, conn, id).await?;
    bump_totals(scope, conn, &old, ExpenseStatus::Pending, -1).await?;
    bump_totals(scope, conn, &new, ExpenseStatus::Pending, 1).await?;
    Ok(new)
}

/// Deletes the owner's own pending expense.
///
/// # Errors
/// `NotFound`, `Forbidden`, `Conflict` as for [`update_pending`]; database errors.
pub async fn delete_pending(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    id: Uuid,
    owner: &Actor,
) -> Result<(), RepoError> {
    let old = get_locked(scope, conn, id).await?;
    let result = Entity::delete_many()
        .filter(own_pending(scope, id, owner))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(why_unchanged(scope, conn, id, owner, false).await);
    }
    bump_totals(scope, conn, &old, ExpenseStatus::Pending, -1).await?;
    Ok(())
}

/// Approves or rejects a pending expense filed by someone else.
///
/// # Errors
/// `NotFound` (not this tenant's), `Forbidden` (one's own), `Conflict` (not pending);
/// database errors.
pub async fn review(
    scope: &TenantScope,
    conn: &impl ConnectionTrait,
    id: Uuid,
    reviewer: &Actor,
    decision: Decision,
    reason: Reason,
) -> Result<Model, RepoError> {
    let status = match decision {
        Decision::Approve => ExpenseStatus::Approved,
        Decision::Reject => ExpenseStatus::Rejected,
    };
    let old = get_locked(scope, conn, id).await?;
    let now = Utc::now();
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status.as_str()))
        .col_expr(Column::ReviewerId, Expr::value(reviewer.id))
        .col_expr(Column::ReviewerName, Expr::value(reviewer.name.clone()))
        .col_expr(Column::ReviewedAt, Expr::value(now))
        .col_expr(Column::Reason, Expr::value(reason.into_inner()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::TenantId.eq(scope.tenant_id()))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(ExpenseStatus::Pending.as_str()))
        .filter(Column::OwnerId.ne(reviewer.id))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(why_unchanged(scope, conn, id, reviewer, true).await);
    }
    bump_totals(scope, conn, &old, ExpenseStatus::Pending, -1).await?;
    bump_totals(scope, conn, &old, status, 1).await?;
    get(scope, conn, id).await
}
