//! askama page structs (`templates/expenses/*.html`, extending `base.html`) and the small view
//! models they show. Values are formatted here so templates stay logic-free.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use shared_jwt::{Claims, Role};

use crate::domain::{Currency, FieldErrors, format_minor};
use crate::entities::{department, expense};
use crate::error::AppError;

/// What the header shows on every page: who is signed in, where, and the sign-out link.
#[derive(Clone, Debug)]
pub struct Nav {
    /// Display name (falls back to the email).
    pub user_name: String,
    /// Email.
    pub email: String,
    /// Organization (tenant slug).
    pub tenant: String,
    /// Role name.
    pub role: &'static str,
    /// Member or above: may file expenses.
    pub can_file: bool,
    /// Admin or owner: may review and manage departments.
    pub can_review: bool,
    /// `{AUTH_URL}/logout` (from configuration, never from the request).
    pub logout_url: String,
    /// `{AUTH_URL}/` (the account page).
    pub account_url: String,
    /// The session's CSRF form token.
    pub csrf_token: String,
}

impl Nav {
    /// The header for these claims.
    #[must_use]
    pub fn new(claims: &Claims, auth_url: &str, csrf_token: String) -> Self {
        let base = auth_url.trim_end_matches('/');
        Nav {
            user_name: display_name(claims),
            email: claims.email.clone(),
            tenant: claims.tenant_slug.clone(),
            role: claims.user_role.as_str(),
            can_file: claims.user_role.at_least(Role::Member),
            can_review: claims.user_role.at_least(Role::Admin),
            logout_url: format!("{base}/logout"),
            account_url: format!("{base}/"),
            csrf_token,
        }
    }
}

/// The token's name, or its email when the name is empty.
#[must_use]
pub fn display_name(claims: &Claims) -> String {
    let name = claims.name.trim();
    if name.is_empty() {
        claims.email.clone()
    } else {
        name.to_owned()
    }
}

/// Renders a page with a status.
///
/// # Errors
/// A template error (a bug), as a 500.
pub fn render(status: StatusCode, page: &impl Template) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

/// The status of a form page: `200`, or `422` when it shows field errors (nothing was written).
#[must_use]
pub fn form_status(fields: &FieldErrors) -> StatusCode {
    if fields.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// An option of a `<select>`.
#[derive(Clone, Debug)]
pub struct SelectOption {
    /// Submitted value.
    pub value: String,
    /// Shown label.
    pub label: String,
    /// Pre-selected.
    pub selected: bool,
}

/// One expense, formatted.
#[derive(Clone, Debug)]
pub struct ExpenseRow {
    /// Id (a UUID, safe in a URL).
    pub id: String,
    /// `YYYY-MM-DD`.
    pub spent_on: String,
    /// Description.
    pub description: String,
    /// Department name.
    pub department: String,
    /// Who filed it.
    pub owner_name: String,
    /// `12.34`.
    pub amount: String,
    /// `EUR`.
    pub currency: String,
    /// `pending` / `approved` / `rejected`.
    pub status: String,
    /// Reviewer name.
    pub reviewer_name: Option<String>,
    /// When reviewed (`YYYY-MM-DD HH:MM UTC`).
    pub reviewed_at: Option<String>,
    /// Review reason.
    pub reason: Option<String>,
    /// Filed at.
    pub created_at: String,
}

/// Formats minor units with the currency's decimals (unknown stored codes: 2).
#[must_use]
pub fn amount(minor: i64, code: &str) -> String {
    match Currency::parse(code) {
        Ok(c) => format_minor(minor, c),
        Err(_) => minor.to_string(),
    }
}

impl ExpenseRow {
    /// Formats a row; `department` is the department's name.
    #[must_use]
    pub fn new(e: &expense::Model, department: &str) -> Self {
        ExpenseRow {
            id: e.id.to_string(),
            spent_on: e.spent_on.to_string(),
            description: e.description.clone(),
            department: department.to_owned(),
            owner_name: e.owner_name.clone(),
            amount: amount(e.amount_minor, &e.currency),
            currency: e.currency.clone(),
            status: e.status.clone(),
            reviewer_name: e.reviewer_name.clone(),
            reviewed_at: e
                .reviewed_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            reason: e.reason.clone(),
            created_at: e.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

/// One line of the totals table: a department's month in one currency against its budget.
#[derive(Clone, Debug)]
pub struct TotalLine {
    /// `YYYY-MM`.
    pub month: String,
    /// Department name.
    pub department: String,
    /// Currency code.
    pub currency: String,
    /// Approved sum.
    pub approved: String,
    /// Pending sum.
    pub pending: String,
    /// Budget, when the department has one in this currency.
    pub budget: Option<String>,
    /// Budget minus approved minus pending, when there is a budget.
    pub remaining: Option<String>,
    /// Approved plus pending exceed the budget.
    pub over_budget: bool,
}

/// `GET /`: the list, its filters, pagination and totals.
#[derive(Template)]
#[template(path = "expenses/list.html")]
pub struct ListPage {
    /// Header.
    pub nav: Nav,
    /// The page of expenses.
    pub rows: Vec<ExpenseRow>,
    /// Status filter options.
    pub statuses: Vec<SelectOption>,
    /// Department filter options.
    pub departments: Vec<SelectOption>,
    /// Month filter value (`YYYY-MM` or empty).
    pub month: String,
    /// Total matching rows.
    pub total: u64,
    /// Current page (1-based).
    pub page: u64,
    /// Number of pages (at least 1).
    pub pages: u64,
    /// Link to the previous page.
    pub prev_href: Option<String>,
    /// Link to the next page.
    pub next_href: Option<String>,
    /// Why the requested page could not be shown (a bad `after=` link): the first page is.
    pub error: Option<String>,
    /// Totals per department and month.
    pub totals: Vec<TotalLine>,
    /// True when the tenant has no department yet.
    pub no_departments: bool,
}

/// `GET/POST /expenses/new` and `/expenses/{id}/edit`.
#[derive(Template)]
#[template(path = "expenses/form.html")]
pub struct ExpenseFormPage {
    /// Header.
    pub nav: Nav,
    /// "New expense" or "Edit expense".
    pub heading: &'static str,
    /// Where the form posts (a fixed path plus a UUID).
    pub action: String,
    /// Where "Cancel" goes.
    pub cancel_href: String,
    /// Typed values.
    pub amount: String,
    /// Typed currency.
    pub currency: String,
    /// Typed description.
    pub description: String,
    /// Typed date.
    pub spent_on: String,
    /// Department options.
    pub departments: Vec<SelectOption>,
    /// Currency suggestions.
    pub currencies: Vec<&'static str>,
    /// Field errors.
    pub fields: FieldErrors,
    /// All messages, for the summary.
    pub errors: Vec<String>,
}

/// `GET /expenses/{id}`.
#[derive(Template)]
#[template(path = "expenses/detail.html")]
pub struct DetailPage {
    /// Header.
    pub nav: Nav,
    /// The expense.
    pub e: ExpenseRow,
    /// The viewer may edit or delete it (own and pending).
    pub can_change: bool,
    /// The viewer may approve or reject it (admin/owner, not own, pending).
    pub can_review: bool,
    /// Reason typed into the review form (kept on error).
    pub reason: String,
    /// Field errors of the review form.
    pub fields: FieldErrors,
    /// Summary of errors.
    pub errors: Vec<String>,
}

/// One department, formatted.
#[derive(Clone, Debug)]
pub struct DepartmentRow {
    /// Name.
    pub name: String,
    /// `1000.00 EUR`, if any.
    pub budget: Option<String>,
}

impl DepartmentRow {
    /// Formats a row.
    #[must_use]
    pub fn new(d: &department::Model) -> Self {
        let budget = match (d.monthly_budget_minor, &d.budget_currency) {
            (Some(m), Some(c)) => Some(format!("{} {c}", amount(m, c))),
            _ => None,
        };
        DepartmentRow {
            name: d.name.clone(),
            budget,
        }
    }
}

/// `GET/POST /departments`.
#[derive(Template)]
#[template(path = "expenses/departments.html")]
pub struct DepartmentsPage {
    /// Header.
    pub nav: Nav,
    /// Existing departments.
    pub rows: Vec<DepartmentRow>,
    /// Typed name.
    pub name: String,
    /// Typed budget.
    pub budget: String,
    /// Typed budget currency.
    pub budget_currency: String,
    /// Currency suggestions.
    pub currencies: Vec<&'static str>,
    /// Field errors.
    pub fields: FieldErrors,
    /// Summary of errors.
    pub errors: Vec<String>,
    /// Confirmation after a create.
    pub created: Option<String>,
}

/// Any error as a page (403, 404, 409, 400, 500).
#[derive(Template)]
#[template(path = "errors/expenses.html")]
pub struct ErrorPage {
    /// Numeric status.
    pub status: u16,
    /// Reason phrase.
    pub title: String,
    /// Public message.
    pub message: String,
    /// Request id, for 500s.
    pub request_id: Option<String>,
}
