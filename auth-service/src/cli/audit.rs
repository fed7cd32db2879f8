//! `auth-service audit list [--tenant SLUG] [--type T] [--limit N]`: the newest audit
//! events, for operators (every organization unless `--tenant`).

use clap::Subcommand;
use serde_json::{Value, json};

use super::{CliError, Out, database, input};
use crate::accounts::audit_log::{self, AuditFilter};
use crate::accounts::tenants;
use crate::config::Settings;

/// Audit commands.
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// The newest events first.
    List {
        /// Only this organization's events (its slug).
        #[arg(long)]
        tenant: Option<String>,
        /// Only events of this type, e.g. `login_failure`.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// How many events at most (1–1000).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1000))]
        limit: u64,
    },
}

/// Runs an audit command.
///
/// # Errors
/// An unknown organization or type (input), or a database failure.
pub async fn run(command: AuditCommand, settings: &Settings, out: Out) -> Result<(), CliError> {
    let AuditCommand::List {
        tenant,
        kind,
        limit,
    } = command;
    let kind = match kind {
        Some(k) => Some(
            audit_log::parse_kind(&k)
                .ok_or_else(|| input(format!("unknown event type \"{k}\"")))?,
        ),
        None => None,
    };
    let db = database(settings).await?;
    let tenant_id = match tenant {
        Some(slug) => Some(
            tenants::find_by_slug(&db, &slug.trim().to_lowercase())
                .await?
                .ok_or_else(|| input(format!("no organization \"{slug}\"")))?
                .id,
        ),
        None => None,
    };
    let filter = AuditFilter {
        tenant_id,
        kind,
        ..AuditFilter::default()
    };
    let (rows, _) = audit_log::list(&db, &filter, 0, limit).await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|(e, email)| {
            format!(
                "{}  {:<22} {}  {}  {}",
                e.created_at.format("%Y-%m-%d %H:%M:%S"),
                e.kind.as_str(),
                email.as_deref().unwrap_or("-"),
                e.ip.as_deref().unwrap_or("-"),
                e.detail.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let values: Vec<Value> = rows
        .iter()
        .map(|(e, email)| audit_log::event_json(e, email.as_deref()))
        .collect();
    let human = if lines.is_empty() {
        "No events.".to_owned()
    } else {
        lines.join("\n")
    };
    out.emit(&human, &json!(values));
    Ok(())
}
