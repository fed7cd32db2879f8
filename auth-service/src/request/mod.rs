//! What both front ends read from a request before the use cases run: who is asking
//! ([`Meta`]: client address behind trusted proxies, user agent) and lenient
//! urlencoded fields ([`Fields`]) that the typed form, body and query structs are
//! parsed from.

pub mod client_ip;
pub mod rate_limit;

use std::collections::HashMap;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{HeaderMap, header};

use crate::infra::audit::{EventContext, truncate};
use crate::state::AppState;

/// Who is asking: client IP (proxy-aware), user agent, and the headers.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Client address.
    pub ip: IpAddr,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
    /// The request headers.
    pub headers: HeaderMap,
}

impl Meta {
    /// For the audit log and the sessions table.
    #[must_use]
    pub fn event_context(&self) -> EventContext {
        EventContext {
            ip: Some(self.ip.to_string()),
            user_agent: self.user_agent.clone(),
        }
    }
}

impl FromRequestParts<AppState> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip::of_request(parts, &state.settings.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| truncate(v, 256));
        Ok(Self {
            ip,
            user_agent,
            headers: parts.headers.clone(),
        })
    }
}

/// urlencoded fields parsed leniently: invalid UTF-8 is replaced, the first of repeated
/// fields wins. Only the typed structs' `parse()` read it.
#[derive(Debug, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    /// Parses a urlencoded body or query string (never fails).
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Self {
        let pairs =
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default();
        let mut map = HashMap::new();
        for (k, v) in pairs {
            map.entry(k).or_insert(v);
        }
        Self(map)
    }

    /// A field, or "" when absent.
    #[must_use]
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// A field, or `None` when absent or empty.
    #[must_use]
    pub fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }
}
