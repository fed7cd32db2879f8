//! The form and query parsers of both services on arbitrary bytes: auth-service's lenient
//! urlencoded `Fields` and the typed page forms read from them, `GET users/`'s paging;
//! expense-service's list filters and paging, amounts, currencies and dates; service-kit's
//! one rule for whole numbers. None may panic, and what they accept is within bounds.
#![no_main]

use auth_service::api::admin::{ListQuery as UsersQuery, MAX_PAGE_SIZE};
use auth_service::request::Fields;
use auth_service::web::form::PageForm as _;
use auth_service::web::login::LoginForm;
use auth_service::web::logout::LogoutForm;
use auth_service::web::register::RegisterForm;
use expense_service::domain::{Currency, Money, Month, SpentOn};
use expense_service::routes::ListQuery as ExpenseQuery;
use libfuzzer_sys::fuzz_target;
use service_kit::params::{self, MAX_PAGE};

fuzz_target!(|data: &[u8]| {
    let fields = Fields::parse(data);
    let _ = LoginForm::parse(&fields);
    let _ = RegisterForm::parse(&fields);
    let _ = LogoutForm::parse(&fields);

    let text = String::from_utf8_lossy(data);
    if let Ok(q) = UsersQuery::parse(&text) {
        assert!((1..=MAX_PAGE).contains(&q.page) && (1..=MAX_PAGE_SIZE).contains(&q.size));
    }
    if let Ok(query) = serde_urlencoded::from_bytes::<ExpenseQuery>(data)
        && let Ok((_, page)) = query.parse()
    {
        assert!((1..=MAX_PAGE).contains(&page.page) && (1..=100).contains(&page.per_page));
    }
    if let Ok(n) = params::bounded("n", &text, 1..=MAX_PAGE) {
        assert!((1..=MAX_PAGE).contains(&n));
    }

    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date");
    let _ = SpentOn::parse(&text, today);
    let _ = Month::parse(&text);
    for code in ["EUR", "JPY", "KWD", "CLF"] {
        let currency = Currency::parse(code).expect("a known currency");
        if let Ok(m) = Money::parse(&text, currency) {
            assert!(m.minor() > 0 && m.minor() < expense_service::domain::money::MAX_MINOR);
        }
    }
    let _ = Currency::parse(&text);
});
