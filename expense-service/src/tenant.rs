//! The tenant scope: the only key to the repository.
//!
//! A `TenantScope` is made from the verified access-token claims (the `CurrentUser` that
//! shared-jwt's layer stored after checking the signature), never from a bare id: there is
//! no public constructor taking a `Uuid`. Every repository function takes one first, so there
//! is no query path without a tenant.

use shared_jwt::{Claims, CurrentUser};
use uuid::Uuid;

/// The tenant every query of a request is confined to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TenantScope {
    tenant_id: Uuid,
}

impl TenantScope {
    /// The scope of a signed-in user (from claims shared-jwt verified).
    #[must_use]
    pub fn of(user: &CurrentUser) -> Self {
        Self::from_claims(&user.0)
    }

    // Private: callers must hold a `CurrentUser`, i.e. claims that went through the verifier.
    fn from_claims(claims: &Claims) -> Self {
        TenantScope {
            tenant_id: claims.tenant_id,
        }
    }

    /// The tenant's id (what rows are filtered by and what `app.tenant_id` is set to).
    #[must_use]
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }
}
