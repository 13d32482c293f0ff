//! The `eps` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use eps_core::audit::{AuditAction, AuditLog, AuditOutcome};
use eps_core::client::{ScopeSet, SiteGrant};
use eps_core::clock::SystemClock;
use eps_core::site::SiteDirectory;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::auth::clients::ClientRegistry;
use crate::auth::keys::SigningKey;
use crate::config::{AuthMode, AuthSettings, Config, Settings};
use crate::dto::status::format_timestamp;

mod signing_key;

/// An Open Retailing EPS (Electronic Payment Server): serves the Open Retailing EPS REST API to
/// site systems (POS lanes, kiosks, forecourt controllers) and drives their payment terminals
/// over OPI.
///
/// Configuration: built-in defaults, then the TOML file (`--config`), then `EPS_*` environment
/// variables (levels joined by `__`, e.g. `EPS_DATABASE_URL`, `EPS_LOG__FORMAT=json`). Start
/// with `eps demo` (simulated terminals), check a configuration with `eps config check`, run
/// with `eps serve`.
#[derive(Debug, Parser)]
#[command(name = "eps", version)]
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
    /// The built-in issuer's token signing key, which every node sharing a database must use.
    SigningKey {
        /// What to do with it.
        #[command(subcommand)]
        command: SigningKeyCommand,
    },
    /// Print the OpenAPI document (`spec/openapi.json`).
    Openapi,
    /// Work with the configuration without starting anything.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration (defaults, `--config FILE`, `EPS_*`) and report every
    /// problem with its key; exits non-zero when there is one. Opens nothing: no port, no
    /// database, no terminal.
    Check,
}

/// Signing-key commands: the key is `auth.signing_key_file`, or else the one generated in the
/// data directory.
#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Print this node's key fingerprint and the one the database records.
    Show,
    /// Record this node's key as the one every node must use, replacing the recorded one (a
    /// deliberate rotation: give every node the new key file first; tokens signed with the old
    /// key stop working, and nodes still holding it refuse to start).
    Adopt,
}

/// Client commands. A running EPS applies changes made here within 30 seconds.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its secret (shown only this once).
    Add {
        /// The client id.
        name: String,
        /// Scopes, comma-separated: read, write, admin.
        #[arg(long, default_value = "read,write")]
        scopes: String,
        /// The sites it may reach.
        #[command(flatten)]
        sites: SitesArg,
    },
    /// List clients: id, scopes, sites (`*`: every site), registration time.
    List,
    /// Remove a client; its tokens stop working within 30 seconds.
    Remove {
        /// The client id.
        name: String,
    },
    /// Grant a client more sites.
    Grant {
        /// The client id.
        name: String,
        /// The sites to add.
        #[command(flatten)]
        sites: SitesArg,
    },
    /// Take sites from a client (each must be granted); its connections to them are refused
    /// from their next call.
    Revoke {
        /// The client id.
        name: String,
        /// The sites to take away.
        #[command(flatten)]
        sites: SitesArg,
    },
}

/// Which sites: a list of merchant ids, or every site.
#[derive(Debug, Args)]
pub struct SitesArg {
    /// Merchant ids, comma-separated (e.g. `1234567890,555`).
    #[arg(long, value_name = "MERCHANT_ID,...")]
    pub sites: Option<String>,
    /// Every site, configured now or later: only for a regional controller. (`--sites '*'` is
    /// refused, so that every site is never granted by a stray wildcard.)
    #[arg(long, conflicts_with = "sites")]
    pub all_sites: bool,
}

impl SitesArg {
    /// The grant named, or `None` when neither option was given.
    fn grant(&self) -> anyhow::Result<Option<SiteGrant>> {
        if self.all_sites {
            return Ok(Some(SiteGrant::AllSites));
        }
        let Some(list) = &self.sites else {
            return Ok(None);
        };
        let grant = SiteGrant::parse_list(list).map_err(|e| anyhow::anyhow!("--sites: {e}"))?;
        if grant.is_all() {
            bail!("--sites '*' would grant every site: use --all-sites for a regional controller");
        }
        Ok(Some(grant))
    }

    /// The grant named, which must name at least one site.
    fn required(&self) -> anyhow::Result<SiteGrant> {
        match self.grant()? {
            Some(grant) if !grant.is_none() => Ok(grant),
            _ => bail!("name the sites: --sites MERCHANT_ID,... or --all-sites"),
        }
    }
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
        Command::SigningKey { command } => {
            let config = load(&cli.config, cli.data_dir)?;
            signing_key::run(config, command).await
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => check(&cli.config, cli.data_dir),
    }
}

fn load(file: &Option<PathBuf>, data_dir: Option<PathBuf>) -> anyhow::Result<Config> {
    let mut config = Config::load(file.as_deref())?;
    if let Some(data_dir) = data_dir {
        config.data_dir = data_dir;
    }
    Ok(config)
}

/// `eps config check`: what `serve` would refuse, without starting anything.
fn check(file: &Option<PathBuf>, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let config = load(file, data_dir)?;
    let settings = config.validate()?;
    let terminals = settings.sites.terminals.len();
    let source = file.as_ref().map_or_else(
        || "built-in defaults".to_owned(),
        |f| f.display().to_string(),
    );
    // A key file every node is given must be usable; a generated one is made by `serve`.
    let key = match &settings.auth {
        AuthSettings::Builtin {
            signing_key_file: Some(file),
            ..
        } => {
            crate::install_crypto_provider();
            let key = SigningKey::load(file)?;
            format!(", signing key {} ({})", key.fingerprint(), file.display())
        }
        _ => String::new(),
    };
    println!(
        "configuration OK ({source}): {} site(s), {terminals} terminal(s), store {}, listen {}{key}",
        settings.sites.directory.sites().len(),
        store_kind(settings.database_url.expose_secret()),
        settings.listen,
    );
    Ok(())
}

/// The store engine a database URL selects (never the URL: it may hold a password).
fn store_kind(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    crate::telemetry::init(&config.log);
    config.validate()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let server = crate::Server::builder(config).start(listener).await?;
    // Listening, the store open and the terminals started: systemd (`Type=notify`) may route
    // traffic here now.
    #[cfg(unix)]
    crate::systemd::notify_ready();
    let shutdown = async {
        shutdown_signal().await;
        #[cfg(unix)]
        crate::systemd::notify_stopping();
    };
    server.serve(shutdown).await?;
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
    let audit = CliAudit(AuditLog::new(store.clone(), Arc::new(SystemClock)));
    let registry = ClientRegistry::new(store, Arc::new(SystemClock));
    match command {
        ClientCommand::Add {
            name,
            scopes,
            sites,
        } => {
            let scopes = ScopeSet::parse(&scopes).map_err(|unknown| {
                anyhow::anyhow!("unknown scope {unknown:?} (read, write, admin)")
            })?;
            let sites = sites.grant()?.unwrap_or_default();
            note_unconfigured(&settings, &sites);
            let added = registry.add(&name, scopes, sites).await;
            audit
                .record(AuditAction::ClientAdd, &name, &added, |c| {
                    format!(
                        "added with scopes {} and sites {}",
                        c.record.scopes, c.record.sites
                    )
                })
                .await?;
            let client = added?;
            println!("client_id:     {}", client.record.client_id);
            println!("client_secret: {}", client.secret.expose_secret());
            println!("scopes:        {}", client.record.scopes);
            println!("sites:         {}", client.record.sites);
            println!("The secret is shown only now; the EPS keeps only its hash.");
            if client.record.sites.is_none() {
                eprintln!(
                    "note: {name} reaches no site until granted one: eps client grant {name} --sites MERCHANT_ID"
                );
            }
        }
        ClientCommand::List => {
            for client in registry.list().await? {
                let created = format_timestamp(client.created_at);
                println!(
                    "{}\t{}\t{}\t{created}",
                    client.client_id, client.scopes, client.sites
                );
            }
        }
        ClientCommand::Grant { name, sites } => {
            let added = sites.required()?;
            note_unconfigured(&settings, &added);
            let granted = registry.grant(&name, &added).await;
            audit
                .record(AuditAction::ClientGrant, &name, &granted, |c| {
                    format!("sites now {}", c.sites)
                })
                .await?;
            let client = granted?;
            println!("{name} sites: {}", client.sites);
        }
        ClientCommand::Revoke { name, sites } => {
            let removed = sites.required()?;
            let revoked = registry.revoke(&name, &removed).await;
            audit
                .record(AuditAction::ClientRevoke, &name, &revoked, |c| {
                    format!("sites now {}", c.sites)
                })
                .await?;
            let client = revoked.with_context(|| format!("cannot revoke from {name}"))?;
            println!("{name} sites: {}", client.sites);
        }
        ClientCommand::Remove { name } => {
            let removed = match registry.remove(&name).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!("no client named {name}")),
                Err(error) => Err(error.to_string()),
            };
            audit
                .record(AuditAction::ClientRemove, &name, &removed, |()| {
                    "removed".to_owned()
                })
                .await?;
            if let Err(error) = removed {
                bail!(error);
            }
            println!("removed {name}");
        }
    }
    Ok(())
}

/// Records `eps client` changes in the audit log as `cli:` and the operating-system user.
struct CliAudit(AuditLog);

impl CliAudit {
    /// Records `action` on client `name` and how it ended; the change is not reported done
    /// unless its record is durable.
    async fn record<T, E: std::fmt::Display>(
        &self,
        action: AuditAction,
        name: &str,
        result: &Result<T, E>,
        detail: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned());
        let (outcome, detail) = match result {
            Ok(value) => (AuditOutcome::Success, detail(value)),
            Err(error) => (AuditOutcome::Failure, error.to_string()),
        };
        self.0
            .record(&format!("cli:{user}"), action, name, None, outcome, &detail)
            .await
            .context("recording the change in the audit log")?;
        Ok(())
    }
}

/// Warns about granted sites this configuration does not have (a typo, or a site to come).
fn note_unconfigured(settings: &Settings, grant: &SiteGrant) {
    let directory: &SiteDirectory = &settings.sites.directory;
    if let SiteGrant::Sites(sites) = grant {
        for site in sites.iter().filter(|s| directory.site(s).is_none()) {
            eprintln!(
                "note: site {site} is not in this configuration; the grant applies once it is"
            );
        }
    }
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
