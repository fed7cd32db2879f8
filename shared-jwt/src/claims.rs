//! The access-token claims of the contract (the original Django/simplejwt names) and the
//! tenant role they carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The only `token_type` a verifier accepts.
pub const ACCESS_TOKEN_TYPE: &str = "access";

/// A user's role inside its tenant, ordered `Viewer < Member < Admin < Owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Also creates and edits its own things.
    Member,
    /// Also manages other people's things.
    Admin,
    /// Owns the tenant.
    Owner,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

    /// The claim value: `"viewer"`, `"member"`, `"admin"` or `"owner"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Whether this role is `min` or higher.
    pub fn at_least(self, min: Role) -> bool {
        self >= min
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Role::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role (expected owner, admin, member or viewer)")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    /// Parses the exact lowercase claim value.
    ///
    /// # Errors
    /// [`UnknownRole`] for anything but `owner`, `admin`, `member`, `viewer`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

/// The claims of an access token.
///
/// Every field is required when verifying and must have the JSON type of its Rust type
/// (`"exp": "9999999999"` is rejected); unknown claims are ignored. `sid` is this project's
/// extension: the id of the refresh-token family (the session) the token was minted for; CSRF
/// form tokens bind to it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// Issuer: auth-service's public URL.
    pub iss: String,
    /// Audience: `COOKIE_DOMAIN` or `localhost`. A single string, never an array.
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Not before, seconds since the Unix epoch.
    pub nbf: i64,
    /// Unique token id.
    pub jti: String,
    /// The user's id (the same value as `user_id`).
    pub sub: Uuid,
    /// The user's id (the same value as `sub`).
    pub user_id: Uuid,
    /// Always `"access"` for a token a verifier accepts.
    pub token_type: String,
    /// The tenant's id.
    pub tenant_id: Uuid,
    /// The tenant's slug.
    pub tenant_slug: String,
    /// The user's role in the tenant.
    pub user_role: Role,
    /// For display only.
    pub email: String,
    /// For display only.
    pub name: String,
    /// The address in `email` was proven by a mailed link (or an accepted invitation).
    /// Absent in tokens minted before this claim existed: read as `false`.
    #[serde(default)]
    pub email_verified: bool,
    /// How the sign-in was authenticated (RFC 8176: `pwd`, `otp`, `hwk`, `mfa`).
    /// Absent in tokens minted before this claim existed: read as empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The session (refresh-token family) id, when the token was minted for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

impl Claims {
    /// The user's id.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.user_role
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_exactly() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(Role::Admin.at_least(Role::Admin));
        assert!(!Role::Member.at_least(Role::Admin));
        assert!(!Role::Viewer.at_least(Role::Member));
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert_eq!("Owner".parse::<Role>(), Err(UnknownRole));
        assert_eq!("root".parse::<Role>(), Err(UnknownRole));
    }

    #[test]
    fn unknown_claims_are_ignored_and_sid_is_optional() {
        let id = Uuid::new_v4();
        let json = serde_json::json!({
            "iss": "i", "aud": "a", "exp": 2, "iat": 1, "nbf": 1, "jti": "j",
            "sub": id, "user_id": id, "token_type": "access", "tenant_id": id,
            "tenant_slug": "acme", "user_role": "admin", "email": "e@x", "name": "N",
            "something_else": [1, 2, 3]
        });
        let claims: Claims = serde_json::from_value(json).unwrap();
        assert_eq!(claims.user_role, Role::Admin);
        assert_eq!(claims.sid, None);
        assert!(!serde_json::to_string(&claims).unwrap().contains("sid"));
    }
}
