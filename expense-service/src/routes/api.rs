//! The JSON API under `/api/v1/`. Errors are `{"detail": …}` or a `400` field map. Writes
//! authenticated by the access cookie need the `X-CSRF-Token` header (from `GET /api/v1/me`);
//! `Authorization: Bearer` calls are exempt.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiJson, IdPath, ListQuery, ListQueryError, ListStart, Q, list_href, page_count};
use crate::app::AppState;
use crate::domain::ExpenseInput;
use crate::entities::{department, expense};
use crate::error::{AppError, Result};
use crate::repo::expenses::{Decision, ExpenseFilter, PageRequest};
use crate::service::{self, DepartmentInput};
use crate::session::Ctx;
use crate::views::amount;

/// `/api/v1/…`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/expenses/", get(list).post(create))
        // The same collections without the trailing slash (djoser style is with it).
        .route("/api/v1/expenses", get(list).post(create))
        .route(
            "/api/v1/expenses/{id}",
            get(detail).patch(update).delete(remove),
        )
        .route("/api/v1/expenses/{id}/approve", post(review::<Approve>))
        .route("/api/v1/expenses/{id}/reject", post(review::<Reject>))
        .route(
            "/api/v1/departments/",
            get(departments).post(create_department),
        )
}

/// The JSON form of an expense.
#[derive(Debug, Serialize)]
pub struct ExpenseJson {
    id: String,
    owner_id: String,
    owner_name: String,
    department_id: String,
    department_name: String,
    amount: String,
    amount_minor: i64,
    currency: String,
    description: String,
    spent_on: String,
    status: String,
    reviewer_id: Option<String>,
    reviewer_name: Option<String>,
    reviewed_at: Option<String>,
    reason: Option<String>,
    created_at: String,
    updated_at: String,
}

impl ExpenseJson {
    fn new(e: &expense::Model, department_name: String) -> Self {
        ExpenseJson {
            id: e.id.to_string(),
            owner_id: e.owner_id.to_string(),
            owner_name: e.owner_name.clone(),
            department_id: e.department_id.to_string(),
            department_name,
            amount: amount(e.amount_minor, &e.currency),
            amount_minor: e.amount_minor,
            currency: e.currency.clone(),
            description: e.description.clone(),
            spent_on: e.spent_on.to_string(),
            status: e.status.clone(),
            reviewer_id: e.reviewer_id.map(|u| u.to_string()),
            reviewer_name: e.reviewer_name.clone(),
            reviewed_at: e.reviewed_at.map(|t| t.to_rfc3339()),
            reason: e.reason.clone(),
            created_at: e.created_at.to_rfc3339(),
            updated_at: e.updated_at.to_rfc3339(),
        }
    }
}

fn department_json(d: &department::Model) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "monthly_budget": match (d.monthly_budget_minor, &d.budget_currency) {
            (Some(m), Some(c)) => Some(amount(m, c)),
            _ => None,
        },
        "monthly_budget_minor": d.monthly_budget_minor,
        "budget_currency": d.budget_currency,
        "created_at": d.created_at.to_rfc3339(),
    })
}

/// An amount sent as a string (`"12.34"`, preferred: exact) or a JSON number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AmountValue {
    Text(String),
    Number(serde_json::Number),
}

impl AmountValue {
    fn into_text(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Number(n) => n.to_string(),
        }
    }
}

/// Create or patch body. Unknown fields (e.g. `status`) are refused rather than ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpenseBody {
    amount: Option<AmountValue>,
    currency: Option<String>,
    description: Option<String>,
    spent_on: Option<String>,
    department_id: Option<String>,
}

impl ExpenseBody {
    /// Applies the fields present to `base`.
    fn apply(self, base: ExpenseInput) -> ExpenseInput {
        ExpenseInput {
            amount: self.amount.map_or(base.amount, AmountValue::into_text),
            currency: self.currency.unwrap_or(base.currency),
            description: self.description.unwrap_or(base.description),
            spent_on: self.spent_on.unwrap_or(base.spent_on),
            department_id: self.department_id.unwrap_or(base.department_id),
        }
    }
}

/// `GET /api/v1/me`: the verified claims and the session's CSRF token, serialized straight
/// from the claims (no intermediate JSON tree).
#[derive(Serialize)]
struct Me<'a> {
    #[serde(flatten)]
    claims: &'a shared_jwt::Claims,
    /// The CSRF token a cookie-authenticated script sends back in `X-CSRF-Token`.
    csrf_token: String,
}

async fn me(ctx: Ctx) -> Response {
    me_response(ctx.claims(), ctx.csrf_token())
}

/// The body of `GET /api/v1/me` for these claims and this CSRF token. Also what the bench-only
/// baseline route answers (`routes::bench`, feature `bench-baseline`), so that the two differ
/// only by authentication.
pub(crate) fn me_response(claims: &shared_jwt::Claims, csrf_token: String) -> Response {
    Json(Me { claims, csrf_token }).into_response()
}

async fn list(State(state): State<AppState>, ctx: Ctx, Q(query): Q<ListQuery>) -> Result<Response> {
    let (filter, page) = query.parse().map_err(|e| match e {
        ListQueryError::Fields(fields) => AppError::Validation(fields),
        ListQueryError::Cursor(message) => AppError::BadRequest(message.to_owned()),
    })?;
    let listing = service::list(&state.db, &state.lists, &ctx, &filter, page).await?;
    // The page's JSON depends only on the page (its key holds the filter and the page), so
    // it is made once per listing and kept with it while the listing is served again.
    let body = match listing.json.get() {
        Some(body) => body.clone(),
        None => {
            let body =
                render_list(&listing, &filter, page).map_err(|e| AppError::Internal(e.into()))?;
            listing.json.get_or_init(|| body).clone()
        }
    };
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// The JSON of a list page.
fn render_list(
    listing: &service::Listing,
    filter: &ExpenseFilter,
    page: PageRequest,
) -> serde_json::Result<Bytes> {
    let next = listing.next.as_ref().map(|at| {
        list_href(
            "/api/v1/expenses/",
            filter,
            page.per_page,
            ListStart::After(page.page.saturating_add(1), at),
        )
    });
    let names = listing.names();
    let items: Vec<ExpenseJson> = listing
        .items
        .iter()
        .map(|e| {
            ExpenseJson::new(
                e,
                names
                    .get(&e.department_id)
                    .cloned()
                    .unwrap_or_else(|| "(unknown)".into()),
            )
        })
        .collect();
    let totals: Vec<Value> = service::budget_lines(&listing.totals, &listing.departments)
        .iter()
        .map(|l| {
            json!({
                "department_id": l.total.department_id,
                "department_name": l.department,
                "month": l.total.month,
                "currency": l.total.currency,
                "approved": l.fmt(l.total.approved_minor),
                "approved_minor": l.total.approved_minor,
                "pending": l.fmt(l.total.pending_minor),
                "pending_minor": l.total.pending_minor,
                "budget": l.budget_minor.map(|b| l.fmt(b)),
                "budget_minor": l.budget_minor,
                "remaining": l.remaining_minor().map(|r| l.fmt(r)),
                "over_budget": l.over_budget(),
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page_count(listing.total, page.per_page),
        "total": listing.total,
        "next": next,
        "totals": totals,
    }))
    .map(Bytes::from)
}

async fn detail(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
) -> Result<Json<ExpenseJson>> {
    let (e, department) = service::get(&state.db, &ctx, id).await?;
    Ok(Json(ExpenseJson::new(&e, department)))
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ExpenseBody>,
) -> Result<Response> {
    ctx.check_csrf_header(&headers)?;
    let input = body.apply(ExpenseInput::default());
    let (e, department) = service::create(&state.db, &ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(ExpenseJson::new(&e, department))).into_response())
}

async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ExpenseBody>,
) -> Result<Json<ExpenseJson>> {
    ctx.check_csrf_header(&headers)?;
    let (e, department) = service::update(&state.db, &ctx, id, |base| body.apply(base)).await?;
    Ok(Json(ExpenseJson::new(&e, department)))
}

async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Result<StatusCode> {
    ctx.check_csrf_header(&headers)?;
    service::delete(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Review body: `{"reason": "…"}` (optional to approve, required to reject). An empty body is
/// accepted for approvals.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    reason: Option<String>,
}

/// Which decision a review route takes: `…/approve` or `…/reject`.
trait ReviewRoute {
    const DECISION: Decision;
}
struct Approve;
struct Reject;
impl ReviewRoute for Approve {
    const DECISION: Decision = Decision::Approve;
}
impl ReviewRoute for Reject {
    const DECISION: Decision = Decision::Reject;
}

async fn review<R: ReviewRoute>(
    State(state): State<AppState>,
    ctx: Ctx,
    IdPath(id): IdPath,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ExpenseJson>> {
    ctx.check_csrf_header(&headers)?;
    let body: ReviewBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReviewBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::BadRequest(format!("Invalid JSON body: {e}")))?
    };
    let (e, department) =
        service::review(&state.db, &ctx, id, R::DECISION, body.reason.as_deref()).await?;
    Ok(Json(ExpenseJson::new(&e, department)))
}

async fn departments(State(state): State<AppState>, ctx: Ctx) -> Result<Json<Value>> {
    let list = service::departments(&state.db, &ctx).await?;
    Ok(Json(Value::Array(
        list.iter().map(department_json).collect(),
    )))
}

/// Department body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentBody {
    name: Option<String>,
    monthly_budget: Option<AmountValue>,
    budget_currency: Option<String>,
}

async fn create_department(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DepartmentBody>,
) -> Result<Response> {
    ctx.check_csrf_header(&headers)?;
    let input = DepartmentInput {
        name: body.name.unwrap_or_default(),
        monthly_budget: body.monthly_budget.map(AmountValue::into_text),
        budget_currency: body.budget_currency,
    };
    let d = service::create_department(&state.db, &ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(department_json(&d))).into_response())
}
