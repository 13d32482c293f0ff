//! `opi-sim`: an OPI terminal simulator for any OPI POS (see the crate README for flags and the
//! magic amounts).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use eps_core::money::Currency;
use opi_backend::profile::WireEncoding;
use opi_backend::sim::{CallbackIds, CallbackMode, ReceiptStyle, Scenario, SimConfig, SimServer};
use tracing_subscriber::EnvFilter;

/// An OPI terminal simulator: channel-0 listener, channel-1 client, scripted behaviour.
#[derive(Debug, Parser)]
#[command(name = "opi-sim", version)]
struct Args {
    /// Where to listen for channel 0 (the POS connects here).
    #[arg(long, env = "OPI_SIM_LISTEN", default_value = "0.0.0.0:4100")]
    listen: SocketAddr,
    /// The POS's channel-1 callback address, host:port.
    #[arg(long, env = "OPI_SIM_CALLBACK")]
    callback: Option<String>,
    /// A TOML file with simulator settings (flags override it).
    #[arg(long, env = "OPI_SIM_CONFIG")]
    config: Option<PathBuf>,
    /// What a financial request does when no magic amount says otherwise.
    #[arg(long, value_parser = parse_scenario)]
    scenario: Option<Scenario>,
    /// Processing time before the first callback, e.g. 500ms, 2s.
    #[arg(long)]
    latency: Option<String>,
    /// Ignore the magic amounts.
    #[arg(long)]
    no_magic_amounts: bool,
    /// Accept requests without a prior Login.
    #[arg(long)]
    no_login: bool,
    /// Send no display prompts.
    #[arg(long)]
    no_display: bool,
    /// Tell the POS when a card is presented (DeviceRequest Event, EventType CardInserted): no
    /// public OPI source shows such a message, so it is off unless asked for.
    #[arg(long)]
    card_events: bool,
    /// Channel-1 connections: per-request (the default and the protocol's rule: one connection
    /// per DeviceRequest) or shared (one per payment, reconnecting when the POS closed it).
    #[arg(long, value_parser = ["shared", "per-request"])]
    callbacks: Option<String>,
    /// Receipt marking: ticket-type (Printer + TicketType) or targets (PrinterReceipt/Printer).
    #[arg(long, value_parser = ["ticket-type", "targets"])]
    receipts: Option<String>,
    /// Callback RequestIDs: sequence-id (same id + SequenceID) or dotted (id.n).
    #[arg(long, value_parser = ["sequence-id", "dotted"])]
    callback_ids: Option<String>,
    /// Frame encoding: UTF-8 or ISO-8859-1.
    #[arg(long, value_parser = ["UTF-8", "ISO-8859-1"])]
    encoding: Option<String>,
    /// The TerminalID reported.
    #[arg(long)]
    terminal_id: Option<String>,
    /// The Merchant reported.
    #[arg(long)]
    merchant: Option<String>,
    /// The currency of amounts sent without one.
    #[arg(long)]
    currency: Option<String>,
    /// How long wait-for-abort waits before aborting by itself, e.g. 60s.
    #[arg(long)]
    self_abort_after: Option<String>,
    /// The confirmation Input's TimeOut, e.g. 30s.
    #[arg(long)]
    input_timeout: Option<String>,
    /// How long each DeviceRequest waits for its answer, e.g. 10s.
    #[arg(long)]
    callback_timeout: Option<String>,
    /// Send whole, Luhn-valid card numbers (CardPAN, receipts, error texts) as some terminals
    /// do, instead of masked ones.
    #[arg(long)]
    full_pan: bool,
    /// Print the scenarios and their magic amounts, then exit.
    #[arg(long)]
    list_scenarios: bool,
}

fn parse_scenario(name: &str) -> Result<Scenario, String> {
    Scenario::parse(name).ok_or_else(|| {
        let names: Vec<_> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown scenario {name:?}; one of: {}", names.join(", "))
    })
}

fn duration(flag: &str, text: &str) -> anyhow::Result<std::time::Duration> {
    opi_backend::profile::parse_duration(text).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
}

fn settings(args: &Args) -> anyhow::Result<SimConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => SimConfig::default(),
    };
    if let Some(callback) = &args.callback {
        config.callback.clone_from(callback);
    }
    if let Some(scenario) = args.scenario {
        config.default_scenario = scenario;
    }
    if let Some(text) = &args.latency {
        config.latency = duration("latency", text)?;
    }
    if let Some(text) = &args.self_abort_after {
        config.self_abort_after = duration("self-abort-after", text)?;
    }
    if let Some(text) = &args.input_timeout {
        config.input_timeout = duration("input-timeout", text)?;
    }
    if let Some(text) = &args.callback_timeout {
        config.callback_timeout = duration("callback-timeout", text)?;
    }
    config.magic_amounts &= !args.no_magic_amounts;
    config.require_login &= !args.no_login;
    config.display &= !args.no_display;
    config.full_pan |= args.full_pan;
    config.card_events |= args.card_events;
    match args.callbacks.as_deref() {
        Some("per-request") => config.callbacks = CallbackMode::PerRequest,
        Some(_) => config.callbacks = CallbackMode::Shared,
        None => {}
    }
    match args.receipts.as_deref() {
        Some("targets") => config.receipts = ReceiptStyle::Targets,
        Some(_) => config.receipts = ReceiptStyle::TicketType,
        None => {}
    }
    match args.callback_ids.as_deref() {
        Some("dotted") => config.callback_ids = CallbackIds::Dotted,
        Some(_) => config.callback_ids = CallbackIds::SequenceId,
        None => {}
    }
    match args.encoding.as_deref() {
        Some("ISO-8859-1") => config.encoding = WireEncoding::Latin1,
        Some(_) => config.encoding = WireEncoding::Utf8,
        None => {}
    }
    if let Some(id) = &args.terminal_id {
        config.terminal_id.clone_from(id);
    }
    if let Some(merchant) = &args.merchant {
        config.merchant.clone_from(merchant);
    }
    if let Some(code) = &args.currency {
        config.currency = Currency::parse(code).map_err(|e| anyhow::anyhow!("--currency: {e}"))?;
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.list_scenarios {
        for scenario in Scenario::ALL {
            let cents = scenario
                .magic_cents()
                .map_or_else(|| "default".to_owned(), |c| format!("*.{c:02}"));
            println!("{:<22} {cents}", scenario.as_str());
        }
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = settings(&args)?;
    let sim = SimServer::start(args.listen, config.clone())
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(
        channel0 = %sim.channel0_address(),
        callback = %config.callback,
        terminal_id = %config.terminal_id,
        "opi-sim ready; Ctrl-C stops it"
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    let ledger = sim.ledger();
    sim.shutdown().await;
    for entry in ledger.entries() {
        println!(
            "{} {} {} {} STAN={} reversed={} refunded={}",
            entry.request_id,
            entry.request_type,
            entry.amount.map(|a| a.to_string()).unwrap_or_default(),
            entry.result,
            entry.stan.as_deref().unwrap_or("-"),
            entry.reversed,
            entry.refunded
        );
    }
    Ok(())
}
