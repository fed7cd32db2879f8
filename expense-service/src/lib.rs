//! expense-service: a multi-tenant expense tracker that trusts the SSO access token.
//!
//! It verifies the token locally with shared-jwt (no call to auth-service, no user table),
//! confines every query to the token's tenant twice — in code ([`tenant::TenantScope`] is the
//! first argument of every repository function) and, on PostgreSQL, with row-level security —
//! and serves HTML pages and a JSON API. See the README for configuration.

pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod fresh_reads;
pub mod list_cache;
pub mod repo;
pub mod routes;
pub mod seed;
pub mod service;
pub mod session;
pub mod startup;
pub mod telemetry;
pub mod tenant;
pub mod views;
