//! auth-service: single sign-on for the tenants' services. Sign-in, sign-up and
//! sign-out pages, refresh-token rotation, the access-token cookie (signed with
//! shared-jwt) and the JWKS that sibling services verify it with.
//!
//! Entry points for other crates and tests: [`config::Settings`],
//! [`startup::Application`], [`tenants::create_tenant`], [`users::create_user`].

pub mod app;
pub mod audit;
pub mod client_ip;
pub mod config;
pub mod crypto;
pub mod entities;
pub mod error;
pub mod keys;
pub mod password;
pub mod redirect;
pub mod routes;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenants;
pub mod throttle;
pub mod users;
pub mod views;

pub mod csrf;

// JSON API, management CLI and the domain functions they share with the pages.
pub mod api;
pub mod cli;
pub mod demo;
pub mod signin;
pub mod signup;
pub mod user_admin;

pub use config::Settings;
pub use startup::Application;
pub use state::AppState;
