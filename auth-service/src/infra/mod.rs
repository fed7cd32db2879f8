//! Infrastructure under the use cases: the SeaORM entities (with their typed columns),
//! the audit log, password hashing, signing keys and the small crypto helpers. Nothing
//! here knows about HTTP.

pub mod audit;
pub mod crypto;
pub mod entities;
pub mod keys;
pub mod metrics;
pub mod password;
pub mod writes;
