//! The `auth-service` binary: parses the command line and runs a command (`serve`, the
//! default, `migrate`, or a management command); settings and logging start in `cli::run`.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `serve` (default), `migrate`, `tenant`, `user`, `keys`, `demo`: see `auth_service::cli`.
    auth_service::cli::run(auth_service::cli::Cli::parse()).await
}
