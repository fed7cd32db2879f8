//! The audit log: one row per security-relevant event, written by the one function
//! [`record`]. Callers pass only ids, the client address, the user agent and a short
//! detail; never a password or token.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::infra::entities::auth_event;

/// What happened (the stored `auth_events.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum AuditEvent {
    /// Correct credentials.
    #[sea_orm(string_value = "login_success")]
    LoginSuccess,
    /// Wrong organization, email or password, or an inactive account.
    #[sea_orm(string_value = "login_failure")]
    LoginFailure,
    /// A sign-in refused because of a lock or the IP limit.
    #[sea_orm(string_value = "login_throttled")]
    LoginThrottled,
    /// An account throttle key was locked.
    #[sea_orm(string_value = "lock")]
    Lock,
    /// An account's password-guessing counts were cleared (unlock, password reset).
    #[sea_orm(string_value = "throttle_cleared")]
    ThrottleCleared,
    /// A new account.
    #[sea_orm(string_value = "signup")]
    Signup,
    /// A refused sign-up.
    #[sea_orm(string_value = "signup_refused")]
    SignupRefused,
    /// Sign-out (one family).
    #[sea_orm(string_value = "logout")]
    Logout,
    /// Sign-out of every session.
    #[sea_orm(string_value = "logout_all")]
    LogoutAll,
    /// One session revoked from the account page.
    #[sea_orm(string_value = "session_revoked")]
    SessionRevoked,
    /// A rotated refresh token presented after the grace: its family was revoked.
    #[sea_orm(string_value = "refresh_reuse")]
    RefreshReuse,
    /// A user's role or active flag changed.
    #[sea_orm(string_value = "user_updated")]
    UserUpdated,
    /// A user changed their names.
    #[sea_orm(string_value = "profile_updated")]
    ProfileUpdated,
    /// A password was changed (by its user) or set (by the operator).
    #[sea_orm(string_value = "password_changed")]
    PasswordChanged,
    /// The operator created a user.
    #[sea_orm(string_value = "user_created")]
    UserCreated,
    /// The operator created a tenant.
    #[sea_orm(string_value = "tenant_created")]
    TenantCreated,
    /// The operator (de)activated a tenant.
    #[sea_orm(string_value = "tenant_updated")]
    TenantUpdated,
    /// A password reset was asked for an existing active account (a link was mailed).
    #[sea_orm(string_value = "password_reset_requested")]
    PasswordResetRequested,
    /// A reset link was used: the password changed and every session ended.
    #[sea_orm(string_value = "password_reset_completed")]
    PasswordResetCompleted,
    /// An address-verification link was mailed.
    #[sea_orm(string_value = "verification_sent")]
    VerificationSent,
    /// An address was verified by its link.
    #[sea_orm(string_value = "email_verified")]
    EmailVerified,
    /// A user asked to change their address (a link went to the new one).
    #[sea_orm(string_value = "email_change_requested")]
    EmailChangeRequested,
    /// A new address was verified and replaced the old one (the old one was told).
    #[sea_orm(string_value = "email_changed")]
    EmailChanged,
    /// An owner or admin invited an address (or re-invited it, replacing the link).
    #[sea_orm(string_value = "invitation_sent")]
    InvitationSent,
    /// A pending invitation was revoked.
    #[sea_orm(string_value = "invitation_revoked")]
    InvitationRevoked,
    /// An invitation was accepted: the user was created.
    #[sea_orm(string_value = "invitation_accepted")]
    InvitationAccepted,
    /// An owner or admin changed a member's role.
    #[sea_orm(string_value = "role_changed")]
    RoleChanged,
    /// An owner or admin deactivated a member.
    #[sea_orm(string_value = "user_deactivated")]
    UserDeactivated,
    /// An owner or admin reactivated a member.
    #[sea_orm(string_value = "user_reactivated")]
    UserReactivated,
    /// A second factor (authenticator app) was set up.
    #[sea_orm(string_value = "mfa_enabled")]
    MfaEnabled,
    /// The second factor was removed (by its user with the password).
    #[sea_orm(string_value = "mfa_disabled")]
    MfaDisabled,
    /// A recovery code was used to sign in (detail: how many remain).
    #[sea_orm(string_value = "recovery_code_used")]
    RecoveryCodeUsed,
    /// A new set of recovery codes replaced the old one.
    #[sea_orm(string_value = "recovery_codes_regenerated")]
    RecoveryCodesRegenerated,
    /// The operator removed every second factor of a user (`user reset-mfa`).
    #[sea_orm(string_value = "mfa_reset")]
    MfaReset,
    /// A passkey was registered (detail: its name).
    #[sea_orm(string_value = "passkey_added")]
    PasskeyAdded,
    /// A passkey was removed by its user (detail: its name).
    #[sea_orm(string_value = "passkey_removed")]
    PasskeyRemoved,
    /// A passkey signed in (second factor or passwordless; detail: its name).
    #[sea_orm(string_value = "passkey_used")]
    PasskeyUsed,
}

impl AuditEvent {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSuccess => "login_success",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::MfaReset => "mfa_reset",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeyUsed => "passkey_used",
            Self::LoginFailure => "login_failure",
            Self::LoginThrottled => "login_throttled",
            Self::Lock => "lock",
            Self::ThrottleCleared => "throttle_cleared",
            Self::Signup => "signup",
            Self::SignupRefused => "signup_refused",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::SessionRevoked => "session_revoked",
            Self::RefreshReuse => "refresh_reuse",
            Self::UserUpdated => "user_updated",
            Self::ProfileUpdated => "profile_updated",
            Self::PasswordChanged => "password_changed",
            Self::UserCreated => "user_created",
            Self::TenantCreated => "tenant_created",
            Self::TenantUpdated => "tenant_updated",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordResetCompleted => "password_reset_completed",
            Self::VerificationSent => "verification_sent",
            Self::EmailVerified => "email_verified",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::InvitationSent => "invitation_sent",
            Self::InvitationRevoked => "invitation_revoked",
            Self::InvitationAccepted => "invitation_accepted",
            Self::RoleChanged => "role_changed",
            Self::UserDeactivated => "user_deactivated",
            Self::UserReactivated => "user_reactivated",
        }
    }
}

/// Who and where, for an event.
#[derive(Clone, Debug, Default)]
pub struct EventContext {
    /// Client IP (see [`crate::request::client_ip`]).
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
    kind: AuditEvent,
    tenant_id: Option<Uuid>,
    user_id: Option<Uuid>,
    ctx: &EventContext,
    detail: Option<String>,
) -> Result<(), sea_orm::DbErr> {
    tracing::info!(event = kind.as_str(), tenant_id = ?tenant_id, user_id = ?user_id, ip = ?ctx.ip, "audit");
    auth_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        kind: Set(kind),
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

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveEnum, Iterable};

    use super::*;

    #[test]
    fn stored_names_fit_the_column_and_round_trip() {
        for kind in AuditEvent::iter() {
            assert_eq!(kind.to_value(), kind.as_str());
            assert!(kind.as_str().len() <= 32);
            assert_eq!(
                AuditEvent::try_from_value(&kind.to_value()).ok(),
                Some(kind)
            );
        }
        assert!(AuditEvent::try_from_value(&"bogus".to_owned()).is_err());
    }
}
