//! The router with every layer, added here in one place: the service's routes, the JSON
//! API, the not-found fallback and the error negotiation, then service-kit's stack around all of it (request id →
//! tracing span → id echoed → security headers with this service's CSP → `REQUEST_TIMEOUT`
//! (408) → the id for error pages → a panic answered with this service's 500 → the 64 KiB
//! body limit).

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;
use service_kit::{Stack, Stacked};

use crate::config::Settings;
use crate::state::AppState;

/// service-kit's health routes ask the state for the database.
impl FromRef<AppState> for DatabaseConnection {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

/// The Content-Security-Policy: forms post here and end (via redirects) where `next` may go.
#[must_use]
pub fn content_security_policy(s: &Settings) -> String {
    let mut form_action = vec!["'self'".to_owned()];
    let schemes: &[&str] = if s.cookie_secure {
        &["https"]
    } else {
        &["https", "http"]
    };
    match &s.cookie_domain {
        Some(domain) => {
            // `:*`: a host-source without a port matches only the default port, and
            // the redirect after POST /login may go to a sibling on another port.
            for scheme in schemes {
                form_action.push(format!("{scheme}://{domain}:*"));
                form_action.push(format!("{scheme}://*.{domain}:*"));
            }
        }
        None => {
            if let Some(host) = s.public_url.host_str() {
                form_action.push(format!("{}://{host}:*", s.public_url.scheme()));
            }
        }
    }
    form_action.extend(s.allowed_redirect_origins.iter().cloned());
    format!(
        "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action {}",
        form_action.join(" ")
    )
}

/// service-kit's stack as this service configures it: its CSP, `REQUEST_TIMEOUT`, and a
/// panic answered like any 500 ([`crate::error::panic_response`]).
#[must_use]
pub fn stack(settings: &Settings) -> Stack {
    Stack::new(&content_security_policy(settings), settings.request_timeout)
        .on_panic(crate::error::panic_response)
}

/// The complete application.
pub fn build_router(state: AppState) -> Stacked {
    let stack = stack(&state.settings);
    // Pages, the JSON API (with its CORS layer), the fallback and error negotiation.
    stack.wrap(crate::routes::router(&state.settings).with_state(state))
}
