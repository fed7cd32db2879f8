//! The sign-up policy of a tenant: who may join by signing up. A typed column
//! (`tenants.signup_policy`); an unknown stored value fails the read.

use std::fmt;
use std::str::FromStr;

use sea_orm::DeriveValueType;

/// Who may join a tenant by signing up. Stored as text (`open`, `invite_only`,
/// `domains:a.test,b.test`); an unknown stored value fails the read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveValueType)]
#[sea_orm(value_type = "String", column_type = "Text")]
pub enum SignupPolicy {
    /// Anyone.
    Open,
    /// Nobody: only invited (or admin-created) users.
    InviteOnly,
    /// Addresses whose domain is in the list (lowercase).
    Domains(Vec<String>),
}

/// A stored or typed sign-up policy that is none of the known forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign-up policy (expected open, invite_only or domains:a.test,b.test)")]
pub struct UnknownSignupPolicy;

impl FromStr for SignupPolicy {
    type Err = UnknownSignupPolicy;

    /// Parses the stored form (`open`, `invite_only`, `domains:a.test,b.test`).
    ///
    /// # Errors
    /// [`UnknownSignupPolicy`] for anything else.
    fn from_str(stored: &str) -> Result<Self, Self::Err> {
        match stored {
            "open" => Ok(Self::Open),
            "invite_only" => Ok(Self::InviteOnly),
            other => other
                .strip_prefix("domains:")
                .map(|list| {
                    Self::Domains(
                        list.split(',')
                            .map(|d| d.trim().to_ascii_lowercase())
                            .filter(|d| !d.is_empty())
                            .collect(),
                    )
                })
                .ok_or(UnknownSignupPolicy),
        }
    }
}

impl fmt::Display for SignupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open => f.write_str("open"),
            Self::InviteOnly => f.write_str("invite_only"),
            Self::Domains(list) => write!(f, "domains:{}", list.join(",")),
        }
    }
}

impl serde::Serialize for SignupPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl SignupPolicy {
    /// Whether someone with this (normalized) email may sign up.
    #[must_use]
    pub fn allows(&self, email_normalized: &str) -> bool {
        match self {
            Self::Open => true,
            Self::InviteOnly => false,
            Self::Domains(list) => email_normalized
                .rsplit_once('@')
                .is_some_and(|(_, domain)| list.iter().any(|d| d == domain)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signup_policy_round_trips_and_decides() {
        for p in [
            SignupPolicy::Open,
            SignupPolicy::InviteOnly,
            SignupPolicy::Domains(vec!["a.test".into()]),
        ] {
            assert_eq!(p.to_string().parse::<SignupPolicy>(), Ok(p));
        }
        let d: SignupPolicy = "domains:a.test, B.test".parse().unwrap();
        assert!(d.allows("x@b.test"));
        assert!(!d.allows("x@evil-b.test"));
        // No silent fallback: an unknown stored value is an error, not "invite only".
        assert_eq!("bogus".parse::<SignupPolicy>(), Err(UnknownSignupPolicy));
    }
}
