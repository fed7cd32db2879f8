//! What every service of the workspace needs, written once: the common settings
//! ([`ServiceSettings`]: `BIND`, `DATABASE_URL`, `DB_MAX_CONNECTIONS`, `REQUEST_TIMEOUT`,
//! `LOG_FORMAT`, `RUST_LOG`), [`telemetry`], the layer [`Stack`] (request id, tracing span,
//! security headers, `408` timeout, a panic answered `500`, body limit) with
//! [`current_request_id`], the one rule for whole-number parameters ([`params`]), the health
//! [`routes`], the database pool with the SQLite options ([`db::connect`]) and graceful
//! [`shutdown`], and the Prometheus [`metrics`] (`METRICS_BIND`).
//!
//! The grammar of the settings (booleans, durations, URLs) is shared-jwt's
//! ([`shared_jwt::config::Vars`]), so embedders of shared-jwt parse like the services do.

pub mod db;
pub mod healthcheck;
pub mod layers;
pub mod metrics;
pub mod panic;
pub mod params;
pub mod request_id;
pub mod routes;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use layers::{BODY_LIMIT, Stack, Stacked};
pub use panic::PanicResponder;
pub use request_id::current_request_id;
pub use settings::{LogFormat, ServiceDefaults, ServiceSettings};

/// A log sink for unit tests: what the subscriber writes, kept in memory.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct TestLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl TestLog {
    /// Everything written so far, as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[cfg(test)]
impl std::io::Write for TestLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
