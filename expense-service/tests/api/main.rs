//! Integration tests of expense-service: a real server on port 0 over TCP, a real database
//! (SQLite always; PostgreSQL as well when TEST_DATABASE_URL is set), tokens from shared-jwt's
//! `Signer` — and, in `e2e`, the real auth-service next to it.

// Test code: a failed unwrap is a failed test. (clippy.toml's allow-unwrap-in-tests covers
// only `#[test]` functions, not the async scenarios and helpers they call.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod authn;
mod csrf;
mod departments;
mod e2e;
mod errors;
mod expenses;
mod isolation;
mod pages;
mod postgres_rls;
mod property;
mod repo_scope;
mod review;
mod startup;
mod validation;
