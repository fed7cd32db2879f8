//! `expense-service [serve]` runs the server (migrating first unless `RUN_MIGRATIONS=false`);
//! `expense-service migrate` only migrates. Configuration comes from the environment.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use expense_service::config::Settings;
use expense_service::startup::{Application, migrate};
use expense_service::telemetry;

#[derive(Parser)]
#[command(
    version,
    about = "Multi-tenant expense tracker behind the SSO (see README for settings)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Run database migrations as MIGRATION_DATABASE_URL's role, then exit.
    Migrate,
    /// Exit 0 when the local /readyz (BIND) answers 200, 1 otherwise (container health checks).
    Healthcheck,
    /// For `scripts/bench`: add COUNT synthetic expenses to the tenant of the access token
    /// read from standard input (one line), then exit.
    SeedBench {
        /// How many expenses.
        #[arg(long)]
        count: usize,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes, never a secret (settings errors name variables only).
            eprintln!("expense-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    if matches!(command, Command::Healthcheck) {
        return service_kit::healthcheck::check(settings.bind)
            .await
            .map_err(|e| anyhow::anyhow!(e));
    }
    telemetry::init(&settings);
    match command {
        Command::Healthcheck => Ok(()),
        Command::Migrate => migrate(&settings).await,
        Command::SeedBench { count } => {
            let mut token = String::new();
            std::io::stdin().read_line(&mut token)?;
            let tenant = expense_service::seed::bench_rows(&settings, &token, count).await?;
            println!("{tenant}");
            Ok(())
        }
        Command::Serve => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await
        }
    }
}
