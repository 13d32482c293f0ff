//! The `eps` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use eps_core::client::ScopeSet;
use eps_core::clock::SystemClock;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::auth::clients::ClientRegistry;
use crate::config::{AuthMode, Config};
use crate::dto::status::format_timestamp;

/// The Open Retailing EPS.
#[derive(Debug, Parser)]
#[command(name = "eps", version, about)]
pub struct Cli {
    /// A TOML configuration file (`EPS_*` variables override it).
    #[arg(long, short, global = true, env = "EPS_CONFIG")]
    pub config: Option<PathBuf>,
    /// The data directory (SQLite database, token signing key); overrides the configuration.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the EPS until SIGINT or SIGTERM.
    Serve {
        /// The listen address; overrides the configuration.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run the EPS with simulated terminals (in-process `opi-sim` over loopback) for every
    /// configured POI, register a demo client and print ready-to-paste curl lines.
    Demo {
        /// The listen address; overrides the configuration.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Manage OAuth2 clients of the built-in issuer.
    Client {
        /// What to do with clients.
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Print the OpenAPI document (`spec/openapi.json`).
    Openapi,
}

/// Client commands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its secret (shown only this once).
    Add {
        /// The client id.
        name: String,
        /// Scopes, comma-separated: read, write, admin.
        #[arg(long, default_value = "read,write")]
        scopes: String,
    },
    /// List clients.
    List,
    /// Remove a client (tokens already issued stay valid until they expire).
    Remove {
        /// The client id.
        name: String,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Openapi => {
            print!("{}", crate::openapi::document_json());
            Ok(())
        }
        Command::Serve { listen } => {
            let mut config = load(&cli.config, cli.data_dir)?;
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve(config).await
        }
        Command::Demo { listen } => {
            let mut config = load(&cli.config, cli.data_dir)?;
            if let Some(listen) = listen {
                config.listen = listen;
            }
            crate::telemetry::init(&config.log);
            crate::demo::run(config, shutdown_signal()).await
        }
        Command::Client { command } => {
            let config = load(&cli.config, cli.data_dir)?;
            clients(config, command).await
        }
    }
}

fn load(file: &Option<PathBuf>, data_dir: Option<PathBuf>) -> anyhow::Result<Config> {
    let mut config = Config::load(file.as_deref())?;
    if let Some(data_dir) = data_dir {
        config.data_dir = data_dir;
    }
    Ok(config)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    config.validate()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    crate::run(config, listener, shutdown_signal()).await?;
    Ok(())
}

async fn clients(config: Config, command: ClientCommand) -> anyhow::Result<()> {
    let settings = config.validate()?;
    if config.auth.mode == AuthMode::External {
        eprintln!("note: auth.mode is external; clients are used only by the built-in issuer");
    }
    crate::install_crypto_provider();
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("data directory {}", settings.data_dir.display()))?;
    let store = eps_core::store::open(settings.database_url.expose_secret())
        .await
        .context("opening the store")?;
    let registry = ClientRegistry::new(store, Arc::new(SystemClock));
    match command {
        ClientCommand::Add { name, scopes } => {
            let scopes = ScopeSet::parse(&scopes).map_err(|unknown| {
                anyhow::anyhow!("unknown scope {unknown:?} (read, write, admin)")
            })?;
            let client = registry.add(&name, scopes).await?;
            println!("client_id:     {}", client.record.client_id);
            println!("client_secret: {}", client.secret.expose_secret());
            println!("scopes:        {}", client.record.scopes);
            println!("The secret is shown only now; the EPS keeps only its hash.");
        }
        ClientCommand::List => {
            for client in registry.list().await? {
                let created = format_timestamp(client.created_at);
                println!("{}\t{}\t{created}", client.client_id, client.scopes);
            }
        }
        ClientCommand::Remove { name } => {
            if !registry.remove(&name).await? {
                bail!("no client named {name}");
            }
            println!("removed {name}");
        }
    }
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
