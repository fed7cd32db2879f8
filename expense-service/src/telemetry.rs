//! Tracing set-up: service-kit's, with this service's `RUST_LOG` and `LOG_FORMAT`.

use crate::config::Settings;

/// Installs the global subscriber (once; later calls are ignored, which tests rely on).
pub fn init(settings: &Settings) {
    service_kit::telemetry::init(&settings.rust_log, settings.log_format);
}
