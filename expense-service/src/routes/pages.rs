//! Read-only pages: the list with filters, pagination and totals; one expense.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use shared_jwt::Role;

use super::{IdPath, ListQuery, Q, page_count};
use crate::app::AppState;
use crate::domain::{ExpenseStatus, FieldErrors};
use crate::error::{AppError, Result};
use crate::repo::expenses::{ExpenseFilter, PageRequest};
use crate::service;
use crate::session::Ctx;
use crate::views::{
    DetailPage, ExpenseRow, ListPage, Nav, SelectOption, TotalLine, form_status, render,
};

/// `GET /`, `GET /expenses/{id}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/expenses/{id}", get(detail))
}

/// The header of every page for this user.
pub(crate) fn nav(state: &AppState, ctx: &Ctx) -> Nav {
    Nav::new(ctx.claims(), state.auth.auth_url.as_str(), ctx.csrf_token())
}

/// `/?status=…&department=…&month=…&page=N` from validated values only.
fn page_href(filter: &ExpenseFilter, page: PageRequest, n: u64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(s) = filter.status {
        pairs.push(("status", s.as_str().to_owned()));
    }
    if let Some(d) = filter.department_id {
        pairs.push(("department", d.to_string()));
    }
    if let Some(m) = filter.month {
        pairs.push(("month", m.key()));
    }
    if page.per_page != service::DEFAULT_PER_PAGE {
        pairs.push(("per_page", page.per_page.to_string()));
    }
    pairs.push(("page", n.to_string()));
    format!(
        "/?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

async fn index(
    State(state): State<AppState>,
    ctx: Ctx,
    Q(query): Q<ListQuery>,
) -> Result<Response> {
    let (filter, page) = query
        .parse()
        .map_err(|e: FieldErrors| AppError::BadRequest(e.all().join(" ")))?;
    let listing = service::list(&state.db, &ctx, &filter, page).await?;
    let names = listing.names();
    let rows = listing
        .items
        .iter()
        .map(|e| {
            ExpenseRow::new(
                e,
                names
                    .get(&e.department_id)
                    .map_or("(unknown)", String::as_str),
            )
        })
        .collect();
    let totals = service::budget_lines(&listing.totals, &listing.departments)
        .iter()
        .map(|l| TotalLine {
            month: l.total.month.clone(),
            department: l.department.clone(),
            currency: l.total.currency.clone(),
            approved: l.fmt(l.total.approved_minor),
            pending: l.fmt(l.total.pending_minor),
            budget: l.budget_minor.map(|b| l.fmt(b)),
            remaining: l.remaining_minor().map(|r| l.fmt(r)),
            over_budget: l.over_budget(),
        })
        .collect();
    let pages = page_count(listing.total, page.per_page);
    let statuses = [
        ExpenseStatus::Pending,
        ExpenseStatus::Approved,
        ExpenseStatus::Rejected,
    ]
    .into_iter()
    .map(|s| SelectOption {
        value: s.as_str().into(),
        label: s.as_str().into(),
        selected: filter.status == Some(s),
    })
    .collect();
    let departments = listing
        .departments
        .iter()
        .map(|d| SelectOption {
            value: d.id.to_string(),
            label: d.name.clone(),
            selected: filter.department_id == Some(d.id),
        })
        .collect();
    let view = ListPage {
        nav: nav(&state, &ctx),
        rows,
        statuses,
        departments,
        month: filter.month.map(|m| m.key()).unwrap_or_default(),
        total: listing.total,
        page: page.page,
        pages,
        prev_href: (page.page > 1).then(|| page_href(&filter, page, page.page.min(pages + 1) - 1)),
        next_href: (page.page < pages).then(|| page_href(&filter, page, page.page + 1)),
        totals,
        no_departments: listing.departments.is_empty(),
    };
    render(StatusCode::OK, &view)
}

/// Renders one expense, optionally with the review form's errors (status 422 then).
pub(crate) async fn detail_page(
    state: &AppState,
    ctx: &Ctx,
    id: uuid::Uuid,
    reason: String,
    fields: FieldErrors,
) -> Result<Response> {
    let (e, department) = service::get(&state.db, ctx, id).await?;
    let pending = e.status == ExpenseStatus::Pending.as_str();
    let own = e.owner_id == ctx.actor.id;
    let role = ctx.claims().user_role;
    let status = form_status(&fields);
    let view = DetailPage {
        nav: nav(state, ctx),
        e: ExpenseRow::new(&e, &department),
        can_change: pending && own && role.at_least(Role::Member),
        can_review: pending && !own && role.at_least(Role::Admin),
        reason,
        errors: fields.all(),
        fields,
    };
    render(status, &view)
}

async fn detail(State(state): State<AppState>, ctx: Ctx, IdPath(id): IdPath) -> Result<Response> {
    detail_page(&state, &ctx, id, String::new(), FieldErrors::new()).await
}
