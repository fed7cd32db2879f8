//! The audit log: one row per security-relevant event. Callers pass only ids, the
//! client address, the user agent and a short detail; never a password or token.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::entities::auth_event;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Correct credentials.
    LoginSuccess,
    /// Wrong organization, email or password, or an inactive account.
    LoginFailure,
    /// A sign-in refused because of a lock or the IP limit.
    LoginThrottled,
    /// An account throttle key was locked.
    Lock,
    /// A new account.
    Signup,
    /// A refused sign-up.
    SignupRefused,
    /// Sign-out (one family).
    Logout,
    /// Sign-out of every session.
    LogoutAll,
    /// One session revoked from the account page.
    SessionRevoked,
    /// A rotated refresh token presented after the grace: its family was revoked.
    RefreshReuse,
}

impl EventKind {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSuccess => "login_success",
            Self::LoginFailure => "login_failure",
            Self::LoginThrottled => "login_throttled",
            Self::Lock => "lock",
            Self::Signup => "signup",
            Self::SignupRefused => "signup_refused",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::SessionRevoked => "session_revoked",
            Self::RefreshReuse => "refresh_reuse",
        }
    }
}

/// Who and where, for an event.
#[derive(Clone, Debug, Default)]
pub struct EventContext {
    /// Client IP (see [`crate::client_ip`]).
    pub ip: Option<String>,
    /// `User-Agent`, truncated to 256 characters.
    pub user_agent: Option<String>,
}

/// Truncates a header value for storage.
#[must_use]
pub fn truncate(value: &str, max: usize) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

/// Records an event. The event is also logged (without the detail's personal data).
///
/// # Errors
/// A database failure.
pub async fn record(
    db: &impl ConnectionTrait,
    kind: EventKind,
    tenant_id: Option<Uuid>,
    user_id: Option<Uuid>,
    ctx: &EventContext,
    detail: Option<String>,
) -> Result<(), sea_orm::DbErr> {
    tracing::info!(event = kind.as_str(), tenant_id = ?tenant_id, user_id = ?user_id, ip = ?ctx.ip, "audit");
    auth_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        kind: Set(kind.as_str().to_owned()),
        tenant_id: Set(tenant_id),
        user_id: Set(user_id),
        ip: Set(ctx.ip.clone()),
        user_agent: Set(ctx.user_agent.clone()),
        created_at: Set(Utc::now()),
        detail: Set(detail.map(|d| truncate(&d, 500))),
    }
    .insert(db)
    .await
    .map(|_| ())
}
