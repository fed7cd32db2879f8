//! The operations behind both the HTML pages and the JSON API: role checks, validation, and
//! one tenant transaction per operation. Nothing is written unless everything validated.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;

use chrono::Utc;
use sea_orm::DbErr;
use shared_jwt::Role;
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{
    Currency, DepartmentName, ExpenseInput, FieldErrors, Money, Reason, format_minor,
};
use crate::entities::{department, expense};
use crate::error::{AppError, Result};
use crate::fresh_reads::FreshReads;
use crate::list_cache::VersionedCache;
use crate::repo::expenses::{Decision, ExpenseFilter, PageRequest, Position, TotalRow};
use crate::repo::{RepoError, departments, departments::NewDepartment, expenses};
use crate::session::Ctx;

/// Default and maximum page sizes.
pub const DEFAULT_PER_PAGE: u64 = 20;
/// Largest page a client may ask for.
pub const MAX_PER_PAGE: u64 = 100;

/// Which list page: the tenant, the filters and the page.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListKey {
    tenant_id: Uuid,
    filter: ExpenseFilter,
    page: PageRequest,
}

/// Recently read list pages, served again while their tenant's version is unchanged
/// (`LIST_CACHE_ENTRIES`; see [`crate::list_cache`]), and the tenants' versions, each read
/// once for the requests that ask for it at the same time ([`crate::fresh_reads`]).
#[derive(Debug)]
pub struct ListCache {
    pages: VersionedCache<ListKey, Listing>,
    versions: FreshReads<Uuid, i64, Arc<DbErr>>,
}

impl ListCache {
    /// At most `capacity` pages (0: the cache is off and every list is read).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            pages: VersionedCache::new(capacity),
            versions: FreshReads::default(),
        }
    }
}

/// A page of expenses with everything needed to show it.
#[derive(Debug)]
pub struct Listing {
    /// The rows.
    pub items: Vec<expense::Model>,
    /// Matching rows in all.
    pub total: u64,
    /// Where the next page starts (`None` on the last page).
    pub next: Option<Position>,
    /// The tenant's departments (names for rows, filter options, budgets).
    pub departments: Vec<department::Model>,
    /// Sums per department, month and currency.
    pub totals: Vec<TotalRow>,
    /// The JSON API's rendering of this page, made by the first request that needs it (a
    /// listing is served again from [`ListCache`], and so is its JSON).
    pub json: OnceLock<Bytes>,
}

impl Listing {
    /// Department names by id.
    #[must_use]
    pub fn names(&self) -> HashMap<Uuid, String> {
        self.departments
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect()
    }
}

/// A total compared with its department's budget (when the budget is in the same currency).
#[derive(Debug, Clone)]
pub struct BudgetLine<'a> {
    /// The sums.
    pub total: &'a TotalRow,
    /// Department name.
    pub department: String,
    /// Budget in minor units, same currency.
    pub budget_minor: Option<i64>,
}

impl BudgetLine<'_> {
    /// Budget minus approved minus pending.
    #[must_use]
    pub fn remaining_minor(&self) -> Option<i64> {
        self.budget_minor.map(|b| {
            b.saturating_sub(self.total.approved_minor)
                .saturating_sub(self.total.pending_minor)
        })
    }

    /// Spent (approved + pending) exceeds the budget.
    #[must_use]
    pub fn over_budget(&self) -> bool {
        self.remaining_minor().is_some_and(|r| r < 0)
    }

    /// Formats minor units in this line's currency.
    #[must_use]
    pub fn fmt(&self, minor: i64) -> String {
        crate::views::amount(minor, &self.total.currency)
    }
}

/// Pairs each total with its department's name and budget.
#[must_use]
pub fn budget_lines<'a>(
    totals: &'a [TotalRow],
    departments: &[department::Model],
) -> Vec<BudgetLine<'a>> {
    let by_id: HashMap<Uuid, &department::Model> = departments.iter().map(|d| (d.id, d)).collect();
    totals
        .iter()
        .map(|t| {
            let dept = by_id.get(&t.department_id);
            let budget_minor =
                dept.and_then(|d| match (&d.monthly_budget_minor, &d.budget_currency) {
                    (Some(m), Some(c)) if *c == t.currency => Some(*m),
                    _ => None,
                });
            BudgetLine {
                total: t,
                department: dept.map_or_else(|| "(unknown)".to_owned(), |d| d.name.clone()),
                budget_minor,
            }
        })
        .collect()
}

/// The department's name for a row (in the same transaction).
async fn department_name(
    ctx: &Ctx,
    conn: &impl sea_orm::ConnectionTrait,
    e: &expense::Model,
) -> Result<String> {
    match departments::get(&ctx.scope, conn, e.department_id).await {
        Ok(d) => Ok(d.name),
        Err(RepoError::NotFound) => Ok("(unknown)".to_owned()),
        Err(e) => Err(e.into()),
    }
}

/// Lists a page of the tenant's expenses (any role reads).
///
/// A page read before is served from `cache` when no write of the tenant has committed since
/// (one indexed read of `tenant_versions` instead of a transaction of three statements); the
/// answer is the same either way.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Db,
    cache: &ListCache,
    ctx: &Ctx,
    filter: &ExpenseFilter,
    page: PageRequest,
) -> Result<Arc<Listing>> {
    if !cache.pages.enabled() {
        return Ok(Arc::new(read_listing(db, ctx, filter, page).await?));
    }
    let key = ListKey {
        tenant_id: ctx.scope.tenant_id(),
        filter: filter.clone(),
        page,
    };
    // The version first: what is read after it is at least that fresh. A read that started
    // after this request arrived, shared with the requests of this tenant that arrived with it.
    let (reader, scope) = (db.clone(), ctx.scope);
    let version = cache
        .versions
        .read(scope.tenant_id(), move || {
            let db = reader.clone();
            async move { db.tenant_version(&scope).await.map_err(Arc::new) }
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    if let Some(listing) = cache.pages.get(&key, version) {
        return Ok(listing);
    }
    let listing = Arc::new(read_listing(db, ctx, filter, page).await?);
    cache.pages.put(key, version, Arc::clone(&listing));
    Ok(listing)
}

/// Reads a page from the database, in one read transaction.
async fn read_listing(
    db: &Db,
    ctx: &Ctx,
    filter: &ExpenseFilter,
    page: PageRequest,
) -> Result<Listing> {
    let tx = db.read(&ctx.scope).await?;
    // Three statements whatever the tenant's size: the page, the departments, and the count
    // with the totals (from `expense_totals`). (One `UNION ALL` statement was measured
    // slower on SQLite; see the root README, "Performance".)
    let (items, next) = expenses::page_items(&ctx.scope, tx.conn(), filter, page).await?;
    let departments = departments::list(&ctx.scope, tx.conn()).await?;
    let (total, totals) = expenses::summary(&ctx.scope, tx.conn(), filter).await?;
    tx.commit().await?;
    Ok(Listing {
        items,
        total,
        next,
        departments,
        totals,
        json: OnceLock::new(),
    })
}

/// One expense and its department's name (any role reads).
///
/// # Errors
/// `NotFound` for another tenant's (or no) expense; database errors.
pub async fn get(db: &Db, ctx: &Ctx, id: Uuid) -> Result<(expense::Model, String)> {
    let tx = db.read(&ctx.scope).await?;
    let e = expenses::get(&ctx.scope, tx.conn(), id).await?;
    let dept = departments::get(&ctx.scope, tx.conn(), e.department_id)
        .await
        .map(|d| d.name);
    tx.commit().await?;
    Ok((e, dept.unwrap_or_else(|_| "(unknown)".to_owned())))
}

/// The tenant's departments (any role reads).
///
/// # Errors
/// Database errors.
pub async fn departments(db: &Db, ctx: &Ctx) -> Result<Vec<department::Model>> {
    let tx = db.read(&ctx.scope).await?;
    let list = departments::list(&ctx.scope, tx.conn()).await?;
    tx.commit().await?;
    Ok(list)
}

/// Files a pending expense (member and above).
///
/// # Errors
/// 403 for viewers; `Validation` with the field map; database errors.
pub async fn create(db: &Db, ctx: &Ctx, input: &ExpenseInput) -> Result<(expense::Model, String)> {
    ctx.require(Role::Member)?;
    let valid = input
        .validate(Utc::now().date_naive())
        .map_err(AppError::Validation)?;
    let tx = db.write(&ctx.scope).await?;
    let created = expenses::create(&ctx.scope, tx.conn(), &ctx.actor, valid).await?;
    let name = department_name(ctx, tx.conn(), &created).await?;
    tx.commit().await?;
    Ok((created, name))
}

/// The form values of a stored expense (what an edit starts from, and what PATCH merges into).
#[must_use]
pub fn input_of(e: &expense::Model) -> ExpenseInput {
    let amount = Currency::parse(&e.currency)
        .map(|c| format_minor(e.amount_minor, c))
        .unwrap_or_else(|_| e.amount_minor.to_string());
    ExpenseInput {
        amount,
        currency: e.currency.clone(),
        description: e.description.clone(),
        spent_on: e.spent_on.to_string(),
        department_id: e.department_id.to_string(),
    }
}

/// Replaces an own pending expense's fields; `patch` turns the stored values into the new
/// ones (a form replaces everything, PATCH only what was sent).
///
/// # Errors
/// 403 for viewers or someone else's expense; 404 for another tenant's; 409 when not pending;
/// `Validation`; database errors.
pub async fn update(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    patch: impl FnOnce(ExpenseInput) -> ExpenseInput,
) -> Result<(expense::Model, String)> {
    ctx.require(Role::Member)?;
    let tx = db.write(&ctx.scope).await?;
    // Existence first: another tenant's id is a 404 whatever the body says.
    let existing = expenses::get(&ctx.scope, tx.conn(), id).await?;
    expenses::check_changeable(&existing, &ctx.actor)?;
    let input = patch(input_of(&existing));
    let valid = input
        .validate(Utc::now().date_naive())
        .map_err(AppError::Validation)?;
    let updated = expenses::update_pending(&ctx.scope, tx.conn(), id, &ctx.actor, valid).await?;
    let name = department_name(ctx, tx.conn(), &updated).await?;
    tx.commit().await?;
    Ok((updated, name))
}

/// Checks an edit is allowed before showing its form (same rules as [`update`]).
///
/// # Errors
/// As [`update`].
pub async fn editable(db: &Db, ctx: &Ctx, id: Uuid) -> Result<expense::Model> {
    ctx.require(Role::Member)?;
    let tx = db.read(&ctx.scope).await?;
    let existing = expenses::get(&ctx.scope, tx.conn(), id).await?;
    tx.commit().await?;
    expenses::check_changeable(&existing, &ctx.actor)?;
    Ok(existing)
}

/// Deletes an own pending expense.
///
/// # Errors
/// As [`update`], without validation.
pub async fn delete(db: &Db, ctx: &Ctx, id: Uuid) -> Result<()> {
    ctx.require(Role::Member)?;
    let tx = db.write(&ctx.scope).await?;
    expenses::delete_pending(&ctx.scope, tx.conn(), id, &ctx.actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Approves or rejects someone else's pending expense (admin, owner). A reason is required to
/// reject, optional to approve.
///
/// # Errors
/// 403 for lower roles or one's own expense; 404 for another tenant's; 409 when not pending;
/// `Validation` for the reason; database errors.
pub async fn review(
    db: &Db,
    ctx: &Ctx,
    id: Uuid,
    decision: Decision,
    reason: Option<&str>,
) -> Result<(expense::Model, String)> {
    ctx.require(Role::Admin)?;
    let tx = db.write(&ctx.scope).await?;
    // Existence before validation, so a foreign id answers 404 whatever the reason says.
    expenses::get(&ctx.scope, tx.conn(), id).await?;
    let mut errors = FieldErrors::new();
    let reason = errors
        .check(
            "reason",
            Reason::parse(reason, decision == Decision::Reject),
        )
        .ok_or(AppError::Validation(errors))?;
    let reviewed =
        expenses::review(&ctx.scope, tx.conn(), id, &ctx.actor, decision, reason).await?;
    let name = department_name(ctx, tx.conn(), &reviewed).await?;
    tx.commit().await?;
    Ok((reviewed, name))
}

/// A department as typed.
#[derive(Clone, Debug, Default)]
pub struct DepartmentInput {
    /// Name.
    pub name: String,
    /// Optional decimal budget.
    pub monthly_budget: Option<String>,
    /// Its currency (required with a budget).
    pub budget_currency: Option<String>,
}

/// Creates a department (admin, owner).
///
/// # Errors
/// 403 for lower roles; `Validation` (including a duplicate name); database errors.
pub async fn create_department(
    db: &Db,
    ctx: &Ctx,
    input: &DepartmentInput,
) -> Result<department::Model> {
    ctx.require(Role::Admin)?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", DepartmentName::parse(&input.name));
    let budget = input
        .monthly_budget
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let currency = input
        .budget_currency
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let monthly_budget = match (budget, currency) {
        (None, None) => Some(None),
        (Some(_), None) => {
            errors.add("budget_currency", "Choose the budget's currency.");
            None
        }
        (None, Some(_)) => {
            errors.add(
                "monthly_budget",
                "Enter a budget, or leave the currency empty.",
            );
            None
        }
        (Some(b), Some(c)) => errors
            .check("budget_currency", Currency::parse(c))
            .and_then(|c| errors.check("monthly_budget", Money::parse(b, c)))
            .map(Some),
    };
    let (Some(name), Some(monthly_budget)) = (name, monthly_budget) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let tx = db.write(&ctx.scope).await?;
    let created = departments::create(
        &ctx.scope,
        tx.conn(),
        NewDepartment {
            name,
            monthly_budget,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}
