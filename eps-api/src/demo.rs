//! `eps demo`: the EPS on its embedded defaults with every configured POI's terminal played by
//! an in-process `opi-sim` over real loopback TCP, a demo client, and ready-to-paste curl lines.
//!
//! With the defaults that is the spec's example site `1234567890` with POS lane `001` and
//! fuelling point `001`, so the spec's example connect request works verbatim.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use eps_core::client::{ScopeSet, SiteGrant};
use opi_backend::sim::{SimConfig, SimServer};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::startup::Server;

/// The client the demo registers (again, with a fresh secret, on every run).
pub const DEMO_CLIENT: &str = "demo";

/// The line printed once the demo serves (tests wait for it).
pub const READY_LINE: &str = "The demo is ready.";

/// Runs the demo until `shutdown` completes.
pub async fn run(
    mut config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut sims = Vec::new();
    for site in &mut config.sites {
        for poi in &mut site.pois {
            let sim = SimServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), SimConfig::default())
                .await
                .context("starting a simulated terminal")?;
            poi.terminal.address = sim.channel0_address().to_string();
            poi.terminal.callback = SocketAddr::from(([127, 0, 0, 1], 0));
            let label = format!(
                "{} {} at {}",
                poi.workstation_type,
                poi.logical_id,
                sim.channel0_address()
            );
            sims.push((label, sim));
        }
    }
    let settings = config.validate()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let server = Server::builder(config).start(listener).await?;
    // The terminals call back to the listeners the EPS bound, in configuration order.
    let callbacks = server.callback_addresses();
    for (terminal, (_, sim)) in settings.sites.terminals.iter().zip(&sims) {
        if let Some(callback) = callbacks.get(&terminal.terminal_id) {
            sim.set_callback(callback.to_string());
        }
    }
    let clients = &server.state().clients;
    clients.remove(DEMO_CLIENT).await?;
    // Every configured site by name (not `*`): the demo's sites, and only those.
    let sites = SiteGrant::sites(
        settings
            .sites
            .directory
            .sites()
            .iter()
            .map(|s| s.merchant_id.clone()),
    );
    let client = clients
        .add(
            DEMO_CLIENT,
            ScopeSet::parse("read write").unwrap_or_default(),
            sites,
        )
        .await?;
    let base = server.state().public_url.to_string();
    println!(
        "{}",
        instructions(
            &base,
            client.secret.expose_secret(),
            &client.record.sites.to_string(),
            &sims
        )
    );
    println!("{READY_LINE} Ctrl-C stops it.");
    let served = server.serve(shutdown).await;
    for (_, sim) in sims {
        sim.shutdown().await;
    }
    served.map_err(Into::into)
}

/// What to paste into a shell to pay through the demo.
fn instructions(base: &str, secret: &str, sites: &str, sims: &[(String, SimServer)]) -> String {
    let terminals: Vec<String> = sims
        .iter()
        .map(|(label, _)| format!("  - {label}"))
        .collect();
    let auth = "-H \"Authorization: Bearer $TOKEN\" -H \"openretailing-connection-id: $CONN\"";
    format!(
        r#"
Open Retailing EPS demo at {base}
Simulated OPI terminals (opi-sim, in this process, over loopback TCP):
{terminals}
Demo client (scopes read write, sites {sites}):
  client_id:     {DEMO_CLIENT}
  client_secret: {secret}

Paste into a shell (bash):

EPS={base}
TOKEN=$(curl -s -u '{DEMO_CLIENT}:{secret}' -d grant_type=client_credentials $EPS/oauth/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
CONN=$(curl -s $EPS/connection -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @- <<'JSON' | sed 's/.*"connectionID":"\([^"]*\)".*/\1/'
{{"transmissionID":123456,"vendor":{{"vendorName":"Some vendor","vendorModel":"The vendor's model","vendorModelVersion":"1.0.0"}},"timestamp":"2021-04-08T05:20:00","applicationName":"OpenRetailing Site System","applicationSoftwareVersion":"01.00.00","siteSystemIDs":[{{"id":"1234567890","idType":"merchantID","current":"yes"}},{{"id":"123","idType":"terminalID","current":"yes"}},{{"id":"0987654321","idType":"merchantID","current":"no"}}]}}
JSON
)
curl -s $EPS/POIs {auth}; echo
PAY=$(curl -s $EPS/payments {auth} -H 'Content-Type: application/json' -H 'Prefer: wait=30' -H "Idempotency-Key: sale-$RANDOM$RANDOM" -d '{{"logicalID":"001","workstationType":"pointOfService","amount":{{"value":"12.34","currency":"EUR"}}}}'); echo "$PAY"
TX=$(echo "$PAY" | sed 's/.*"transactionID":"\([^"]*\)".*/\1/')
curl -s $EPS/transactions/$TX/receipts {auth}; echo

Amounts ending in .05 decline, .13 ask for a confirmation (answer it with POST /prompts/{{promptID}}/response),
.21 wait for a card until aborted (POST /transactions/{{transactionID}}/abort); see opi-backend/README.md.
API documentation: {base}/docs/
"#,
        terminals = terminals.join("\n"),
    )
}
