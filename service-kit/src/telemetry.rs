//! Tracing set-up for every service: the `RUST_LOG` filter and `LOG_FORMAT`, one line per
//! event on standard output (JSON with the event's fields at the top level, or pretty).

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::settings::LogFormat;

/// Installs the global subscriber (once; later calls are ignored, which tests rely on).
/// `filter` was checked when the settings were read; an invalid one falls back to `info`.
pub fn init(filter: &str, format: LogFormat) {
    let _ = subscriber(filter, format, std::io::stdout).try_init();
}

/// The subscriber [`init`] installs, writing to `writer`.
fn subscriber<W>(filter: &str, format: LogFormat, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(builder.json().flatten_event(true).finish()),
        LogFormat::Pretty => Box::new(builder.finish()),
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn json_lines_carry_the_fields_at_the_top_level_and_the_filter_applies() {
        let buffer = crate::TestLog::default();
        let out = buffer.clone();
        let subscriber = subscriber("info", LogFormat::Json, move || out.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(address = "127.0.0.1:1", "service listening");
            tracing::debug!("filtered out");
        });
        let text = buffer.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let event: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(event["message"], "service listening");
        assert_eq!(event["address"], "127.0.0.1:1");
        assert_eq!(event["level"], "INFO");
    }
}
