//! HTTP routes: browser pages (`pages`, `forms`), the JSON API (`api`), and health and static
//! files (`health`). Each module has `router()`; `crate::app` merges them and adds the layers.

pub mod api;
pub mod forms;
pub mod health;
pub mod pages;

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;
use service_kit::params;
use uuid::Uuid;

use crate::domain::{ExpenseStatus, FieldErrors, Month};
use crate::error::AppError;
use crate::repo::expenses::{ExpenseFilter, PageRequest};
use crate::service::{DEFAULT_PER_PAGE, MAX_PER_PAGE};

/// An `{id}` path segment; a malformed UUID is a 404 like an unknown id.
#[derive(Clone, Copy, Debug)]
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) =
            axum::extract::Path::<Uuid>::from_request_parts(parts, state).await?;
        Ok(IdPath(id))
    }
}

/// `Json` whose rejection is a `400 {"detail": …}`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `Form` whose rejection is a 400 page.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct HtmlForm<T>(pub T);

/// `Query` whose rejection is a 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Q<T>(pub T);

/// List query parameters, as sent (empty values mean "any").
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `pending`, `approved` or `rejected`.
    pub status: Option<String>,
    /// A department id.
    pub department: Option<String>,
    /// `YYYY-MM`.
    pub month: Option<String>,
    /// 1-based page, at most `service_kit::params::MAX_PAGE`.
    pub page: Option<String>,
    /// Page size, 1 to 100.
    pub per_page: Option<String>,
}

fn present(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

impl ListQuery {
    /// Parses the filters and the page.
    ///
    /// # Errors
    /// A field map naming each bad parameter.
    pub fn parse(&self) -> Result<(ExpenseFilter, PageRequest), FieldErrors> {
        let mut errors = FieldErrors::new();
        let status = present(self.status.as_ref())
            .and_then(|s| errors.check("status", s.parse::<ExpenseStatus>()));
        let department_id = present(self.department.as_ref()).and_then(|s| {
            errors.check(
                "department",
                Uuid::parse_str(s).map_err(|_| "Not a department id."),
            )
        });
        let month =
            present(self.month.as_ref()).and_then(|s| errors.check("month", Month::parse(s)));
        // service-kit's one rule for whole numbers: (page - 1) × per_page stays below 10^8.
        let mut number = |name, raw: Option<&String>, max, default| {
            errors
                .check(
                    name,
                    params::bounded_or(name, present(raw), 1..=max, default)
                        .map_err(|e| e.to_string()),
                )
                .unwrap_or(default)
        };
        let page = number("page", self.page.as_ref(), params::MAX_PAGE, 1);
        let per_page = number(
            "per_page",
            self.per_page.as_ref(),
            MAX_PER_PAGE,
            DEFAULT_PER_PAGE,
        );
        if errors.is_empty() {
            Ok((
                ExpenseFilter {
                    status,
                    department_id,
                    month,
                },
                PageRequest { page, per_page },
            ))
        } else {
            Err(errors)
        }
    }
}

/// Number of pages for `total` rows (at least 1).
#[must_use]
pub fn page_count(total: u64, per_page: u64) -> u64 {
    total.div_ceil(per_page.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_query_is_the_first_unfiltered_page() {
        let (filter, page) = ListQuery::default().parse().unwrap();
        assert!(
            filter.status.is_none() && filter.department_id.is_none() && filter.month.is_none()
        );
        assert_eq!((page.page, page.per_page), (1, DEFAULT_PER_PAGE));
        let q = ListQuery {
            status: Some(String::new()),
            month: Some(" ".into()),
            ..Default::default()
        };
        assert!(q.parse().is_ok());
    }

    #[test]
    fn bad_parameters_are_named() {
        let q = ListQuery {
            status: Some("paid".into()),
            department: Some("x".into()),
            month: Some("2026-13".into()),
            page: Some("0".into()),
            per_page: Some("1000".into()),
        };
        let errors = q.parse().unwrap_err();
        for f in ["status", "department", "month", "page", "per_page"] {
            assert!(errors.first(f).is_some(), "{f}");
        }
        for page in [
            "18446744073709551615",
            "9223372036854775808",
            "1000001",
            "-1",
        ] {
            let q = ListQuery {
                page: Some(page.into()),
                ..Default::default()
            };
            assert_eq!(
                q.parse().unwrap_err().first("page"),
                Some("page must be a whole number between 1 and 1000000."),
                "{page}"
            );
        }
    }

    #[test]
    fn pages_round_up() {
        assert_eq!(page_count(0, 20), 1);
        assert_eq!(page_count(20, 20), 1);
        assert_eq!(page_count(21, 20), 2);
    }
}
