//! auth-service: single sign-on for the tenants' services. Sign-in, sign-up and
//! sign-out pages, refresh-token rotation, the access-token cookie (signed with
//! shared-jwt), the JSON API and the JWKS that sibling services verify tokens with.
//!
//! Layers, outermost first:
//! - front ends that only translate HTTP: [`web`] (HTML pages), [`api`] (JSON), both
//!   mounted by [`routes`]; [`cli`] (the management commands) beside them;
//! - [`accounts`]: the use cases and every rule (throttle, audit, enumeration-safe
//!   answers), the same functions for every front end;
//! - [`infra`]: entities with typed columns, audit log, password hashing, keys.
//!
//! [`error`] is the one error type, rendered for either front end by negotiation;
//! [`request`] is what both front ends read from a request.
//!
//! Entry points for other crates and tests: [`config::Settings`],
//! [`startup::Application`], [`tenants::create_tenant`], [`users::create_user`].

pub mod accounts;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod infra;
pub mod mail;
pub mod request;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;

// The public entry points at their short paths (tests, expense-service's tests).
pub use accounts::{tenants, users};
pub use infra::{entities, keys, password};

pub use config::Settings;
pub use startup::Application;
pub use state::AppState;
