//! Event fan-out benchmark: S idle subscribers over SSE or WebSocket on real loopback sockets,
//! events published at a fixed rate; publish→delivery latency (p50, p99, max over every delivery
//! to every subscriber) and the EPS's resident memory per subscriber.
//!
//! Three processes, so that the EPS's memory is its own: the orchestrator runs one `server`
//! process per scenario; the server (the EPS, in-process, on SQLite) starts a `subscribers`
//! process that opens the streams and timestamps every delivery.
//!
//! ```sh
//! ulimit -n 20000   # S + a few hundred descriptors per process
//! cargo bench -p eps-e2e --bench fanout                      # 1,000 and 10,000, SSE and WS
//! cargo bench -p eps-e2e --bench fanout -- --subscribers 2000 --channel ws --rate 20 --seconds 10
//! ```

mod server;
mod stats;
mod subscribers;

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

/// One run's parameters.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// `sse` or `ws`.
    pub(crate) channel: String,
    /// Subscribers.
    pub(crate) subscribers: usize,
    /// Events per second.
    pub(crate) rate: u32,
    /// Seconds of publishing.
    pub(crate) seconds: u32,
}

impl Scenario {
    fn args(&self) -> Vec<String> {
        vec![
            "--channel".into(),
            self.channel.clone(),
            "--subscribers".into(),
            self.subscribers.to_string(),
            "--rate".into(),
            self.rate.to_string(),
            "--seconds".into(),
            self.seconds.to_string(),
        ]
    }
}

/// The value after `--name`, if given.
pub(crate) fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match arg(&args, "--role").as_deref() {
        Some("server") => runtime.block_on(server::run(scenario(&args))),
        Some("subscribers") => runtime.block_on(subscribers::run(&args)),
        _ => runtime.block_on(orchestrate(&args)),
    }
}

fn scenario(args: &[String]) -> Scenario {
    Scenario {
        channel: arg(args, "--channel").unwrap_or_else(|| "sse".into()),
        subscribers: arg(args, "--subscribers").map_or(1_000, |v| v.parse().expect("count")),
        rate: arg(args, "--rate").map_or(10, |v| v.parse().expect("rate")),
        seconds: arg(args, "--seconds").map_or(20, |v| v.parse().expect("seconds")),
    }
}

/// Runs the scenarios asked for (by default 1,000 and 10,000 subscribers on each channel) and
/// prints a Markdown table.
async fn orchestrate(args: &[String]) {
    let scenarios: Vec<Scenario> = if arg(args, "--subscribers").is_some() {
        let one = scenario(args);
        match arg(args, "--channel") {
            Some(_) => vec![one],
            None => ["sse", "ws"]
                .map(|channel| Scenario {
                    channel: channel.into(),
                    ..one.clone()
                })
                .to_vec(),
        }
    } else {
        [1_000, 10_000]
            .into_iter()
            .flat_map(|subscribers| {
                ["sse", "ws"].map(|channel| Scenario {
                    channel: channel.into(),
                    subscribers,
                    rate: 10,
                    seconds: 20,
                })
            })
            .collect()
    };
    let exe = std::env::current_exe().expect("own path");
    println!(
        "| channel | subscribers | events/s | deliveries | missing | p50 | p99 | max | commit p50 | RSS idle − base | per subscriber | RSS after − base | EPS CPU per delivery | client CPU per delivery |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for scenario in scenarios {
        let mut child = tokio::process::Command::new(&exe)
            .arg("--role")
            .arg("server")
            .args(scenario.args())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("server process");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut report = None;
        while let Ok(Some(line)) = lines.next_line().await {
            match line.strip_prefix("report ") {
                Some(row) => report = Some(row.to_owned()),
                None => eprintln!("{line}"),
            }
        }
        let status = child.wait().await.expect("server exit");
        match report {
            Some(row) if status.success() => println!("{row}"),
            _ => println!(
                "| {} | {} | failed: {status} |",
                scenario.channel, scenario.subscribers
            ),
        }
    }
}
