//! A real expense-service on port 0 over TCP, a real database (SQLite always; PostgreSQL as
//! well when TEST_DATABASE_URL is set), tokens from shared-jwt's `Signer` — and, in `e2e`,
//! the real auth-service next to it (test-support's two-service stack).

mod helpers;

mod authn;
mod csrf;
mod departments;
mod e2e;
mod errors;
mod expenses;
mod inputs;
mod isolation;
mod list_cache;
mod metrics;
mod pages;
mod paging;
mod panic;
mod postgres_rls;
mod property;
mod repo_scope;
mod review;
mod startup;
mod totals;
mod validation;
