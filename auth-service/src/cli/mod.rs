//! The management CLI of the `auth-service` binary (clap): `serve` (the default),
//! `migrate`, `tenant …`, `user …`, `keys …` and `demo`. It reads the same settings
//! (environment) as the service. Output is human-readable, or JSON with `--json`; bad
//! input gets one clear line on stderr and exit status 2, other failures status 1.
//! Passwords are read from standard input or a prompt, never from the command line
//! (argv is visible to every user of the machine).

pub mod audit;
pub mod keys;
pub mod tenant;
pub mod user;

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use anyhow::Context as _;
use auth_migration::{Migrator, MigratorTrait as _};
use clap::{Parser, Subcommand};
use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::infra::audit::EventContext;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "auth-service",
    version,
    about = "Single sign-on: sign-in pages, JSON API, tokens and JWKS; and its management commands"
)]
pub struct Cli {
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve HTTP (the default): migrate, load keys, listen on BIND.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Organizations.
    Tenant {
        /// The tenant command.
        #[command(subcommand)]
        command: tenant::TenantCommand,
    },
    /// Users of an organization.
    User {
        /// The user command.
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Signing keys and the JWKS.
    Keys {
        /// The keys command.
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Create (or repair) the demo organization `acme` with an owner and a member.
    Demo,
    /// Read the audit log.
    Audit {
        /// The audit command.
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Delete expired or long-revoked sessions, old throttle slots, used or expired links and
    /// sign-in challenges, sent mail older than a week and audit events older than
    /// AUDIT_RETENTION (also done hourly by `serve`).
    Prune,
    /// Exit 0 when the local /readyz (BIND) answers 200, 1 otherwise (container health checks).
    Healthcheck,
    /// Measure the argon2 limit of this machine: password hashes per second on all cores
    /// with the service's parameters (printed as a number; used by scripts/bench).
    HashRate {
        /// How long to hash.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The operator's input is wrong (exit status 2).
    #[error("{0}")]
    Input(String),
    /// Anything else (exit status 1).
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for CliError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Failed(e.into())
    }
}

/// A bad-input error.
pub fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

/// Prints either the human text or the JSON value.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// JSON mode.
    pub json: bool,
}

impl Out {
    /// Prints `human` (text mode) or `value` (JSON mode) on stdout.
    pub fn emit(self, human: &str, value: &Value) {
        if self.json {
            println!("{value}");
        } else if !human.is_empty() {
            println!("{human}");
        }
    }
}

/// The audit context of CLI actions.
#[must_use]
pub fn cli_context() -> EventContext {
    EventContext {
        ip: None,
        user_agent: Some("auth-service CLI".to_owned()),
    }
}

/// Connects to `DATABASE_URL` and applies pending migrations.
///
/// # Errors
/// The database cannot be reached or migrated.
pub async fn database(settings: &Settings) -> Result<DatabaseConnection, CliError> {
    let db = crate::startup::connect_database(settings).await?;
    Migrator::up(&db, None)
        .await
        .context("running migrations")?;
    Ok(db)
}

/// Reads a new password: from a hidden prompt (asked twice) on a terminal, else the
/// first line of standard input.
///
/// # Errors
/// No password, a mismatch, or an I/O failure.
pub fn read_password() -> Result<SecretString, CliError> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        eprint!("New password: ");
        let first = read_hidden_line()?;
        eprint!("Again: ");
        let second = read_hidden_line()?;
        if first != second {
            return Err(input("the two passwords do not match"));
        }
        first
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    if password.is_empty() {
        return Err(input(
            "no password given: type it at the prompt or pipe it on standard input",
        ));
    }
    Ok(SecretString::from(password))
}

/// One line from the terminal with echo off (`stty -echo`; without `stty` it echoes).
fn read_hidden_line() -> Result<String, CliError> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    let hidden = stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        stty("echo");
        eprintln!();
    }
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

async fn demo(settings: &Settings, out: Out) -> Result<(), CliError> {
    let db = database(settings).await?;
    let seeded = crate::demo::seed(&db).await?;
    let accounts: Vec<Value> = crate::demo::ACCOUNTS
        .iter()
        .map(|a| json!({"email": a.email, "password": a.password, "role": a.role.as_str()}))
        .collect();
    out.emit(
        &crate::demo::lines().join("\n"),
        &json!({
            "tenant_slug": seeded.tenant.slug,
            "tenant_name": seeded.tenant.name,
            "created": seeded.created,
            "accounts": accounts,
        }),
    );
    Ok(())
}

async fn prune(settings: &Settings, out: Out) -> Result<(), CliError> {
    let db = database(settings).await?;
    let p = crate::accounts::prune::prune(&db, settings, chrono::Utc::now()).await?;
    out.emit(
        &format!(
            "Pruned: {} refresh tokens, {} sessions, {} throttle slots, {} links, {} sent mails, {} audit events, {} sign-in challenges.",
            p.refresh_tokens,
            p.refresh_families,
            p.throttle_slots,
            p.link_tokens,
            p.mail,
            p.audit_events,
            p.challenges
        ),
        &json!(p),
    );
    Ok(())
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    let app = crate::Application::build(settings).await?;
    app.run_until_stopped()
        .await
        .context("serving HTTP")
        .map_err(CliError::from)
}

/// Runs the command line: loads the settings, then the command.
pub async fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("auth-service: {e}");
            return ExitCode::from(2);
        }
    };
    let out = Out { json: cli.json };
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::Serve | Command::Migrate) {
        // Only the long-running commands log; the others print their result.
        crate::telemetry::init(&settings);
    }
    let result = match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => crate::startup::migrate(&settings)
            .await
            .map(|()| {
                out.emit("Migrations applied.", &json!({"migrated": true}));
            })
            .map_err(CliError::from),
        Command::Tenant { command } => tenant::run(command, &settings, out).await,
        Command::User { command } => user::run(command, &settings, out).await,
        Command::Keys { command } => keys::run(command, &settings, out).await,
        Command::Demo => demo(&settings, out).await,
        Command::Audit { command } => audit::run(command, &settings, out).await,
        Command::Prune => prune(&settings, out).await,
        Command::Healthcheck => service_kit::healthcheck::check(settings.bind)
            .await
            .map_err(|e| CliError::Failed(anyhow::anyhow!(e))),
        Command::HashRate { seconds } => {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let duration = std::time::Duration::from_secs(seconds.max(1));
            tokio::task::spawn_blocking(move || crate::infra::password::hash_rate(cores, duration))
                .await
                .map(|rate| {
                    out.emit(
                        &format!("{rate:.1}"),
                        &json!({"hashes_per_second": rate, "threads": cores}),
                    )
                })
                .map_err(|e| CliError::Failed(e.into()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "auth-service failed");
            eprintln!("auth-service: error: {e}");
            match e {
                CliError::Input(_) => ExitCode::from(2),
                CliError::Failed(_) => ExitCode::FAILURE,
            }
        }
    }
}
