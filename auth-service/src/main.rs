//! The `auth-service` binary: loads the settings, starts logging, and runs a command
//! (`serve`, the default, or `migrate`).

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "auth-service",
    version,
    about = "Single sign-on: sign-in pages, tokens and JWKS"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve HTTP (the default): migrate, load keys, listen on BIND.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match auth_service::Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("auth-service: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    auth_service::telemetry::init(settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match auth_service::Application::build(settings).await {
            Ok(app) => app.run_until_stopped().await.map_err(anyhow::Error::from),
            Err(e) => Err(e),
        },
        Command::Migrate => auth_service::startup::migrate(&settings).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "auth-service failed");
            eprintln!("auth-service: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
