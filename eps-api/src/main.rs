//! The `eps` binary: `eps serve`, `eps demo`, `eps client add|list|remove`, `eps openapi`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = eps_api::cli::Cli::parse();
    match eps_api::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eps: {e:#}");
            ExitCode::FAILURE
        }
    }
}
