//! auth-service's integration tests: one binary, real HTTP over TCP, each test on a
//! fresh SQLite database and, when `TEST_DATABASE_URL` is set, on PostgreSQL too.

// A failed unwrap in the harness is a failed test, which is what we want here
// (clippy's allow-unwrap-in-tests does not reach the helper functions).
#![allow(clippy::unwrap_used)]

mod binary;
mod concurrency;
mod csrf;
mod drift;
mod helpers;
mod json_admin;
mod json_cors;
mod json_helpers;
mod json_interop;
mod json_jwt;
mod json_openapi;
mod json_users;
mod login;
mod logout;
mod malformed;
mod operations;
mod redirects;
mod refresh;
mod register;
mod throttle;
