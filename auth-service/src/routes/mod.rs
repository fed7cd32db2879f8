//! HTTP routes, one module per feature, plus the helpers they share: request
//! metadata, lenient form and query parsing, and the sign-in reply.

pub mod account;
pub mod login;
pub mod logout;
pub mod meta;
pub mod refresh;
pub mod register;

use std::collections::HashMap;
use std::net::IpAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use http::{HeaderMap, header};
use shared_jwt::{AccessTokenInput, Role};

use crate::audit::EventContext;
use crate::error::AppError;
use crate::redirect::SafeRedirect;
use crate::sessions::Session;
use crate::state::AppState;
use crate::views::Reply;

/// Every route of the service.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(register::router())
        .merge(logout::router())
        .merge(refresh::router())
        .merge(account::router())
        .merge(meta::router())
}

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
        let peer = crate::client_ip::peer_of(&parts.extensions);
        let ip = crate::client_ip::resolve(peer, &parts.headers, &state.settings.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| crate::audit::truncate(v, 256));
        Ok(Self {
            ip,
            user_agent,
            headers: parts.headers.clone(),
        })
    }
}

/// A urlencoded form parsed leniently: invalid UTF-8 is replaced, the first of repeated
/// fields wins, missing fields read as empty. Bodies over the limit answer 413.
#[derive(Debug, Default)]
pub struct FormFields(HashMap<String, String>);

impl FormFields {
    /// A field, or "" when absent.
    #[must_use]
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// A field, or `None` when absent or empty.
    #[must_use]
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn parse(bytes: &[u8]) -> Self {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded_pairs(bytes) {
            map.entry(k).or_insert(v);
        }
        Self(map)
    }
}

fn form_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default()
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        Ok(Self::parse(&bytes))
    }
}

/// The query string parsed like [`FormFields`] (never fails).
#[derive(Debug, Default)]
pub struct QueryFields(FormFields);

impl QueryFields {
    /// A parameter, or `None` when absent or empty.
    #[must_use]
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0.opt(name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryFields {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(FormFields::parse(
            parts.uri.query().unwrap_or("").as_bytes(),
        )))
    }
}

/// Mints the access token for a session.
///
/// # Errors
/// A signing failure (500).
pub fn access_token_for(state: &AppState, session: &Session) -> Result<String, AppError> {
    let role: Role = session
        .user
        .role
        .parse()
        .map_err(|_| anyhow::anyhow!("stored role is invalid"))?;
    state
        .signer
        .issue(&AccessTokenInput {
            user_id: session.user.id,
            tenant_id: session.tenant.id,
            tenant_slug: session.tenant.slug.clone(),
            role,
            email: session.user.email.clone(),
            name: crate::users::display_name(&session.user),
            session_id: Some(session.family_id),
        })
        .map_err(|e| AppError::Internal(anyhow::anyhow!("signing failed: {e}")))
}

/// `303 next` with both cookies set: the end of every successful sign-in or refresh.
///
/// # Errors
/// A signing failure (500).
pub fn signed_in_reply(
    state: &AppState,
    session: &Session,
    next: &SafeRedirect,
) -> Result<Reply, AppError> {
    let access = access_token_for(state, session)?;
    Ok(Reply::see_other(next.as_str())
        .cookie(&state.cookies.access_cookie(&access))
        .cookie(&state.cookies.refresh_cookie(&session.refresh_token)))
}

/// Adds both removal cookies (same Domain and Path as when set).
#[must_use]
pub fn clear_auth_cookies(state: &AppState, reply: Reply) -> Reply {
    reply
        .cookie(&state.cookies.remove_access_cookie())
        .cookie(&state.cookies.remove_refresh_cookie())
}
