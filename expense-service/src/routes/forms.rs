//! Form pages that change things: file, edit and delete an expense; approve and reject;
//! departments. Every POST checks the session-bound CSRF token (shared-jwt's layer has already
//! refused a cross-origin `Origin`), then the role, then validates; errors re-render the form
//! with status 422 and nothing written; success redirects (303).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use shared_jwt::{AtLeastAdmin, AtLeastMember, RequireRole};
use uuid::Uuid;

use super::pages::{detail_page, nav};
use super::{HtmlForm, IdPath, Q};
use crate::app::AppState;
use crate::domain::{ExpenseInput, FieldErrors, currency};
use crate::entities::department;
use crate::error::{AppError, Result};
use crate::repo::expenses::Decision;
use crate::service::{self, DepartmentInput};
use crate::session::Ctx;
use crate::views::{
    DepartmentRow, DepartmentsPage, ExpenseFormPage, SelectOption, form_status, render,
};

/// The form pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/expenses/new", get(new_form).post(create))
        .route("/expenses/{id}/edit", get(edit_form).post(update))
        .route("/expenses/{id}/delete", post(delete))
        .route("/expenses/{id}/approve", post(approve))
        .route("/expenses/{id}/reject", post(reject))
        .route(
            "/departments",
            get(departments_page).post(create_department),
        )
}

/// The expense form's fields, as posted.
#[derive(Debug, Default, Deserialize)]
struct ExpenseForm {
    csrf_token: Option<String>,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    spent_on: String,
    #[serde(default)]
    department_id: String,
}

impl ExpenseForm {
    fn input(&self) -> ExpenseInput {
        ExpenseInput {
            amount: self.amount.clone(),
            currency: self.currency.clone(),
            description: self.description.clone(),
            spent_on: self.spent_on.clone(),
            department_id: self.department_id.clone(),
        }
    }
}

fn department_options(departments: &[department::Model], selected: &str) -> Vec<SelectOption> {
    departments
        .iter()
        .map(|d| {
            let value = d.id.to_string();
            SelectOption {
                selected: value == selected.trim(),
                value,
                label: d.name.clone(),
            }
        })
        .collect()
}

struct FormSpec {
    heading: &'static str,
    action: String,
    cancel_href: String,
}

async fn expense_form(
    state: &AppState,
    ctx: &Ctx,
    spec: FormSpec,
    input: ExpenseInput,
    fields: FieldErrors,
) -> Result<Response> {
    let departments = service::departments(&state.db, ctx).await?;
    let status = form_status(&fields);
    let view = ExpenseFormPage {
        nav: nav(state, ctx),
        heading: spec.heading,
        action: spec.action,
        cancel_href: spec.cancel_href,
        departments: department_options(&departments, &input.department_id),
        amount: input.amount,
        currency: input.currency,
        description: input.description,
        spent_on: input.spent_on,
        currencies: currency::COMMON.to_vec(),
        errors: fields.all(),
        fields,
    };
    render(status, &view)
}

fn new_spec() -> FormSpec {
    FormSpec {
        heading: "New expense",
        action: "/expenses/new".into(),
        cancel_href: "/".into(),
    }
}

fn edit_spec(id: Uuid) -> FormSpec {
    FormSpec {
        heading: "Edit expense",
        action: format!("/expenses/{id}/edit"),
        cancel_href: format!("/expenses/{id}"),
    }
}

async fn new_form(
    State(state): State<AppState>,
    _: RequireRole<AtLeastMember>,
    ctx: Ctx,
) -> Result<Response> {
    let input = ExpenseInput {
        currency: "EUR".into(),
        spent_on: Utc::now().date_naive().to_string(),
        ..ExpenseInput::default()
    };
    expense_form(&state, &ctx, new_spec(), input, FieldErrors::new()).await
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<ExpenseForm>,
) -> Result<Response> {
    ctx.check_csrf(form.csrf_token.as_deref())?;
    match service::create(&state.db, &ctx, &form.input()).await {
        Ok((e, _)) => Ok(Redirect::to(&format!("/expenses/{}", e.id)).into_response()),
        Err(AppError::Validation(fields)) => {
            expense_form(&state, &ctx, new_spec(), form.input(), fields).await
        }
        Err(e) => Err(e),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
) -> Result<Response> {
    let existing = service::editable(&state.db, &ctx, id).await?;
    expense_form(
        &state,
        &ctx,
        edit_spec(id),
        service::input_of(&existing),
        FieldErrors::new(),
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
    HtmlForm(form): HtmlForm<ExpenseForm>,
) -> Result<Response> {
    ctx.check_csrf(form.csrf_token.as_deref())?;
    match service::update(&state.db, &ctx, id, |_| form.input()).await {
        Ok(_) => Ok(Redirect::to(&format!("/expenses/{id}")).into_response()),
        Err(AppError::Validation(fields)) => {
            expense_form(&state, &ctx, edit_spec(id), form.input(), fields).await
        }
        Err(e) => Err(e),
    }
}

/// A form with only the CSRF token (and a review reason).
#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    csrf_token: Option<String>,
    reason: Option<String>,
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
    HtmlForm(form): HtmlForm<ActionForm>,
) -> Result<Response> {
    ctx.check_csrf(form.csrf_token.as_deref())?;
    service::delete(&state.db, &ctx, id).await?;
    Ok(Redirect::to("/").into_response())
}

async fn review(
    state: AppState,
    ctx: Ctx,
    id: Uuid,
    form: ActionForm,
    decision: Decision,
) -> Result<Response> {
    ctx.check_csrf(form.csrf_token.as_deref())?;
    match service::review(&state.db, &ctx, id, decision, form.reason.as_deref()).await {
        Ok(_) => Ok(Redirect::to(&format!("/expenses/{id}")).into_response()),
        Err(AppError::Validation(fields)) => {
            detail_page(&state, &ctx, id, form.reason.unwrap_or_default(), fields).await
        }
        Err(e) => Err(e),
    }
}

async fn approve(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
    HtmlForm(form): HtmlForm<ActionForm>,
) -> Result<Response> {
    review(state, ctx, id, form, Decision::Approve).await
}

async fn reject(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
    HtmlForm(form): HtmlForm<ActionForm>,
) -> Result<Response> {
    review(state, ctx, id, form, Decision::Reject).await
}

/// The department form, as posted.
#[derive(Debug, Default, Deserialize)]
struct DepartmentForm {
    csrf_token: Option<String>,
    #[serde(default)]
    name: String,
    monthly_budget: Option<String>,
    budget_currency: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DepartmentsQuery {
    created: Option<String>,
}

async fn departments_view(
    state: &AppState,
    ctx: &Ctx,
    form: DepartmentForm,
    fields: FieldErrors,
    created: Option<Uuid>,
) -> Result<Response> {
    let list = service::departments(&state.db, ctx).await?;
    let status = form_status(&fields);
    let view = DepartmentsPage {
        nav: nav(state, ctx),
        created: created
            .and_then(|id| list.iter().find(|d| d.id == id))
            .map(|d| d.name.clone()),
        rows: list.iter().map(DepartmentRow::new).collect(),
        name: form.name,
        budget: form.monthly_budget.unwrap_or_default(),
        budget_currency: form.budget_currency.unwrap_or_default(),
        currencies: currency::COMMON.to_vec(),
        errors: fields.all(),
        fields,
    };
    render(status, &view)
}

async fn departments_page(
    State(state): State<AppState>,
    _: RequireRole<AtLeastAdmin>,
    ctx: Ctx,
    Q(query): Q<DepartmentsQuery>,
) -> Result<Response> {
    let created = query
        .created
        .as_deref()
        .and_then(|s| Uuid::parse_str(s).ok());
    departments_view(
        &state,
        &ctx,
        DepartmentForm::default(),
        FieldErrors::new(),
        created,
    )
    .await
}

async fn create_department(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<DepartmentForm>,
) -> Result<Response> {
    ctx.check_csrf(form.csrf_token.as_deref())?;
    let input = DepartmentInput {
        name: form.name.clone(),
        monthly_budget: form.monthly_budget.clone(),
        budget_currency: form.budget_currency.clone(),
    };
    match service::create_department(&state.db, &ctx, &input).await {
        Ok(d) => Ok(Redirect::to(&format!("/departments?created={}", d.id)).into_response()),
        Err(AppError::Validation(fields)) => {
            departments_view(&state, &ctx, form, fields, None).await
        }
        Err(e) => Err(e),
    }
}
