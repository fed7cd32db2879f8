//! Hand-written queries. Every function takes the [`TenantScope`](crate::tenant::TenantScope)
//! first and filters by it; none can be called without one. They take `&impl ConnectionTrait`
//! so they run inside the request's tenant transaction (`crate::db::TenantTx`).

pub mod departments;
pub mod expenses;

use sea_orm::DbErr;
use uuid::Uuid;

use crate::domain::FieldErrors;

/// Who acts: the verified user's id and display name (snapshotted into rows).
#[derive(Clone, Debug)]
pub struct Actor {
    /// `sub` / `user_id` of the token.
    pub id: Uuid,
    /// `name` of the token (falls back to the email when empty).
    pub name: String,
}

/// What a repository call can refuse, besides database failures.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// No such row in this tenant (another tenant's id looks exactly the same).
    #[error("not found")]
    NotFound,
    /// The row exists in this tenant but this user may not do that to it.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The row is not in a state that allows it (e.g. no longer pending).
    #[error("{0}")]
    Conflict(&'static str),
    /// Input that only the database can judge (duplicate name, unknown department).
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Anything else.
    #[error(transparent)]
    Db(#[from] DbErr),
}
