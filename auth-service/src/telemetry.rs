//! Structured logs: service-kit's set-up with this service's `RUST_LOG` and `LOG_FORMAT`.

use crate::config::Settings;

/// Installs the global subscriber (once; later calls are ignored, as in tests).
pub fn init(settings: &Settings) {
    service_kit::telemetry::init(&settings.rust_log, settings.log_format);
}
