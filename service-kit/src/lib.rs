//! What every service of the workspace needs, written once: the common settings
//! ([`ServiceSettings`]: `BIND`, `DATABASE_URL`, `DB_MAX_CONNECTIONS`, `REQUEST_TIMEOUT`,
//! `LOG_FORMAT`, `RUST_LOG`), [`telemetry`], the layer [`Stack`] (request id, tracing span,
//! security headers, `408` timeout, body limit) with [`current_request_id`], the health
//! [`routes`], the database pool with the SQLite options ([`db::connect`]) and graceful
//! [`shutdown`].
//!
//! The grammar of the settings (booleans, durations, URLs) is shared-jwt's
//! ([`shared_jwt::config::Vars`]), so embedders of shared-jwt parse like the services do.

pub mod db;
pub mod layers;
pub mod routes;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use layers::{BODY_LIMIT, Stack, current_request_id};
pub use settings::{LogFormat, ServiceDefaults, ServiceSettings};
