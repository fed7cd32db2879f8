//! HTTP routes: browser pages (`pages`, `forms`), the JSON API (`api`), and health and static
//! files (`health`). Each module has `router()`; `crate::app` merges them and adds the layers.

pub mod api;
#[cfg(feature = "bench-baseline")]
pub mod bench;
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
use crate::repo::expenses::{ExpenseFilter, PageRequest, Position};
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
    /// Keyset cursor (from a `next` link): the page starts after this row.
    pub after: Option<String>,
}

/// Why a list query was refused.
#[derive(Debug)]
pub enum ListQueryError {
    /// Bad filters or page numbers, by parameter.
    Fields(FieldErrors),
    /// A cursor that is not one of ours (malformed, truncated, edited), or sent with `page`.
    Cursor(&'static str),
}

/// The message for a cursor that does not decode.
pub const BAD_CURSOR: &str =
    "The page link (after=) is malformed or was altered; start again from the first page.";

/// The message for a cursor sent with a page number.
pub const CURSOR_AND_PAGE: &str =
    "Send either page or after (the cursor of a next link), not both.";

/// Version byte of the cursor's layout.
const CURSOR_V1: u8 = 1;
/// version, page (u64), spent_on (days from CE, i32), created_at (seconds i64, nanoseconds
/// u32), id (16 bytes).
const CURSOR_LEN: usize = 1 + 8 + 4 + 8 + 4 + 16;

/// The opaque `after=` cursor: where page `page` starts. Lower-case hex of a fixed binary
/// layout. Not signed: it only names a position in the list's order, and the tenant filter
/// applies to every page whatever it says.
#[must_use]
pub fn encode_cursor(page: u64, at: &Position) -> String {
    use chrono::Datelike;
    let mut bytes = Vec::with_capacity(CURSOR_LEN);
    bytes.push(CURSOR_V1);
    bytes.extend_from_slice(&page.to_be_bytes());
    bytes.extend_from_slice(&at.spent_on.num_days_from_ce().to_be_bytes());
    bytes.extend_from_slice(&at.created_at.timestamp().to_be_bytes());
    bytes.extend_from_slice(&at.created_at.timestamp_subsec_nanos().to_be_bytes());
    bytes.extend_from_slice(at.id.as_bytes());
    let mut out = String::with_capacity(CURSOR_LEN * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Decodes [`encode_cursor`]'s output; `None` for anything else.
#[must_use]
pub fn decode_cursor(raw: &str) -> Option<(u64, Position)> {
    let raw = raw.trim().as_bytes();
    if raw.len() != CURSOR_LEN * 2 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0u8; CURSOR_LEN];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        *bytes.get_mut(i)? = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    let (&version, rest) = bytes.split_first()?;
    let (page, rest) = rest.split_first_chunk::<8>()?;
    let (days, rest) = rest.split_first_chunk::<4>()?;
    let (secs, rest) = rest.split_first_chunk::<8>()?;
    let (nanos, rest) = rest.split_first_chunk::<4>()?;
    let id = uuid::Uuid::from_slice(rest).ok()?;
    let page = u64::from_be_bytes(*page);
    let nanos = u32::from_be_bytes(*nanos);
    if version != CURSOR_V1 || page < 2 || nanos >= 1_000_000_000 {
        return None;
    }
    let spent_on = chrono::NaiveDate::from_num_days_from_ce_opt(i32::from_be_bytes(*days))?;
    let created_at = chrono::DateTime::from_timestamp(i64::from_be_bytes(*secs), nanos)?;
    Some((
        page,
        Position {
            spent_on,
            created_at,
            id,
        },
    ))
}

/// Where a list link points: a page number, or a cursor.
#[derive(Clone, Copy, Debug)]
pub enum ListStart<'a> {
    /// `page=N` (skips rows).
    Page(u64),
    /// `after=CURSOR`: page `N` starting after this row.
    After(u64, &'a Position),
}

/// `{base}?status=…&department=…&month=…&per_page=…&page=N|after=…` from validated values only
/// (a default `per_page` is left out).
#[must_use]
pub fn list_href(
    base: &str,
    filter: &ExpenseFilter,
    per_page: u64,
    start: ListStart<'_>,
) -> String {
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
    if per_page != DEFAULT_PER_PAGE {
        pairs.push(("per_page", per_page.to_string()));
    }
    match start {
        ListStart::Page(n) => pairs.push(("page", n.to_string())),
        ListStart::After(n, at) => pairs.push(("after", encode_cursor(n, at))),
    }
    // Plain strings and numbers: serializing them cannot fail.
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

fn present(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

impl ListQuery {
    /// Parses the filters and the page.
    ///
    /// # Errors
    /// A field map naming each bad parameter; then a cursor that does not decode, or one sent
    /// with `page`.
    pub fn parse(&self) -> Result<(ExpenseFilter, PageRequest), ListQueryError> {
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
        if !errors.is_empty() {
            return Err(ListQueryError::Fields(errors));
        }
        let (page, after) = match present(self.after.as_ref()) {
            None => (page, None),
            Some(_) if present(self.page.as_ref()).is_some() => {
                return Err(ListQueryError::Cursor(CURSOR_AND_PAGE));
            }
            Some(raw) => {
                let (page, at) = decode_cursor(raw).ok_or(ListQueryError::Cursor(BAD_CURSOR))?;
                (page, Some(at))
            }
        };
        Ok((
            ExpenseFilter {
                status,
                department_id,
                month,
            },
            PageRequest {
                page,
                per_page,
                after,
            },
        ))
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
            after: None,
        };
        let Err(ListQueryError::Fields(errors)) = q.parse() else {
            panic!("field errors expected");
        };
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
            let Err(ListQueryError::Fields(errors)) = q.parse() else {
                panic!("field errors expected");
            };
            assert_eq!(
                errors.first("page"),
                Some("page must be a whole number between 1 and 1000000."),
                "{page}"
            );
        }
    }

    fn position() -> Position {
        Position {
            spent_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            created_at: chrono::DateTime::from_timestamp(1_764_500_000, 123_456_789).unwrap(),
            id: Uuid::new_v4(),
        }
    }

    #[test]
    fn cursors_round_trip() {
        let at = position();
        let raw = encode_cursor(7, &at);
        assert_eq!(raw.len(), CURSOR_LEN * 2);
        assert_eq!(decode_cursor(&raw), Some((7, at)));
        let q = ListQuery {
            after: Some(raw),
            per_page: Some("5".into()),
            ..Default::default()
        };
        let (_, page) = q.parse().unwrap();
        assert_eq!((page.page, page.per_page, page.after), (7, 5, Some(at)));
    }

    #[test]
    fn altered_cursors_are_refused() {
        let raw = encode_cursor(2, &position());
        let mut bad = vec![
            String::from("x"),
            raw[..raw.len() - 2].to_owned(),
            format!("{raw}00"),
            raw.to_uppercase(),
            format!("02{}", &raw[2..]),
            // page 1 and page 0 are never a cursor's
            format!("01{}{}", "0".repeat(16), &raw[18..]),
            // nanoseconds out of range
            format!("{}ffffffff{}", &raw[..42], &raw[50..]),
            // a date beyond chrono's range
            format!("{}7fffffff{}", &raw[..18], &raw[26..]),
        ];
        bad.push(raw.replace(|c: char| c.is_ascii_digit(), "g"));
        for b in bad {
            assert_eq!(decode_cursor(&b), None, "{b}");
            let q = ListQuery {
                after: Some(b.clone()),
                ..Default::default()
            };
            assert!(
                matches!(q.parse(), Err(ListQueryError::Cursor(BAD_CURSOR))),
                "{b}"
            );
        }
        let both = ListQuery {
            after: Some(raw),
            page: Some("2".into()),
            ..Default::default()
        };
        assert!(matches!(
            both.parse(),
            Err(ListQueryError::Cursor(CURSOR_AND_PAGE))
        ));
    }

    #[test]
    fn pages_round_up() {
        assert_eq!(page_count(0, 20), 1);
        assert_eq!(page_count(20, 20), 1);
        assert_eq!(page_count(21, 20), 2);
    }
}
