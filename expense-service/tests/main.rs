//! expense-service's integration tests, in one test binary: the service over real HTTP with
//! its own database and minted tokens, and both services together (`api::e2e`), and as users
//! and operators meet them: a real browser and real nginx in front (`stack`).

// Test code: a failed unwrap is a failed test. (clippy.toml's allow-unwrap-in-tests covers
// only `#[test]` functions, not the async scenarios and helpers they call.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod stack;
