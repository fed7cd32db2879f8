//! Read-only pages: the list with filters, pagination and totals; one expense.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use shared_jwt::Role;

use super::{IdPath, ListQuery, ListQueryError, ListStart, Q, list_href, page_count};
use crate::app::AppState;
use crate::domain::{ExpenseStatus, FieldErrors};
use crate::error::{AppError, Result};
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

async fn index(
    State(state): State<AppState>,
    ctx: Ctx,
    Q(query): Q<ListQuery>,
) -> Result<Response> {
    let (filter, page, error) = match query.parse() {
        Ok((filter, page)) => (filter, page, None),
        Err(ListQueryError::Fields(e)) => return Err(AppError::BadRequest(e.all().join(" "))),
        // A bad `after=` link: the first page with the same filters, and the message (400).
        Err(ListQueryError::Cursor(message)) => {
            let first = ListQuery {
                after: None,
                page: None,
                ..query
            };
            let (filter, page) = first
                .parse()
                .map_err(|_| AppError::BadRequest(message.to_owned()))?;
            (filter, page, Some(message))
        }
    };
    let listing = service::list(&state.db, &state.lists, &ctx, &filter, page).await?;
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
        // Back by page number (OFFSET); forward by cursor, so a deep page reads its rows by
        // index whatever its depth.
        prev_href: (page.page > 1).then(|| {
            list_href(
                "/",
                &filter,
                page.per_page,
                ListStart::Page(page.page.min(pages.saturating_add(1)) - 1),
            )
        }),
        next_href: listing.next.as_ref().map(|at| {
            list_href(
                "/",
                &filter,
                page.per_page,
                ListStart::After(page.page.saturating_add(1), at),
            )
        }),
        error: error.map(str::to_owned),
        totals,
        no_departments: listing.departments.is_empty(),
    };
    let status = if view.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(status, &view)
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
