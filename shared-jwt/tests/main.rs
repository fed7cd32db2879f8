//! shared-jwt's integration tests, in one test binary: tokens crafted by hand and through the
//! `Signer`, the verifier's refusals, key rotation and JWKS refresh against a real HTTP
//! server, cookies, and the axum layer and extractors through a real router.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

mod config;
mod cookie_flow;
mod cookies;
mod jwks_refresh;
mod rejections_claims;
mod rejections_token;
mod rotation;
mod roundtrip;
mod router_auth;
mod router_tenant_csrf;
