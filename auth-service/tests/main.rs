//! auth-service's integration tests, in one test binary: the service over real HTTP
//! (`api`) and the management CLI as the real binary (`cli`). Database tests run on a fresh
//! SQLite database and, as separate tests, on PostgreSQL when `TEST_DATABASE_URL` is set.

// A failed unwrap in the harness is a failed test, which is what we want here
// (clippy's allow-unwrap-in-tests does not reach the helper functions).
#![allow(clippy::unwrap_used)]

mod api;
mod cli;
mod test_db;
