//! Issue 10 P6, the soak: S SSE subscribers, H site systems heartbeating every 30 s, and
//! payments at a steady rate on T simulated terminals, for a number of minutes. Passes with 0
//! errors, 0 missed events (every subscriber gets every event id once, in order, gap-free, and no
//! `eventsLostEvent`) and flat resident memory (the EPS's mean `VmRSS` over the last window
//! within 5 % of the second; a window is a minute, or a third of a shorter run, and a run shorter
//! than 3 minutes shows its memory without judging it).
//!
//! Two processes, so that the memory sampled is the EPS's own: this one runs the EPS in-process
//! (SQLite, or PostgreSQL in a schema of its own with `EPS_BENCH_DATABASE_URL`) and samples its
//! `VmRSS` every few seconds; a `load` child runs the simulators, the subscribers, the
//! heartbeats and the payments.
//!
//! ```sh
//! ulimit -n 20000
//! cargo bench -p eps-e2e --bench soak -- --minutes 10 --subscribers 10000 --site-systems 200 \
//!     --terminals 50 --rate 1
//! ```
//! `scripts/soak` does that (and `--smoke`: 20 s, 50 subscribers, 10 site systems, 5 terminals).

mod eps;
mod load;

/// The value after `--name`, parsed, or `default`.
pub(crate) fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} {v}: not a valid value"))
        })
}

/// The soak's parameters.
#[derive(Debug, Clone)]
pub(crate) struct Soak {
    /// Seconds of load.
    pub(crate) seconds: u64,
    /// SSE subscribers.
    pub(crate) subscribers: usize,
    /// Site systems heartbeating every 30 s (the first `terminals` of them also pay).
    pub(crate) site_systems: usize,
    /// Simulated terminals.
    pub(crate) terminals: usize,
    /// Payments per second over all terminals.
    pub(crate) rate: f64,
}

impl Soak {
    fn parse(args: &[String]) -> Self {
        let minutes: f64 = arg(args, "--minutes", 10.0);
        let soak = Self {
            seconds: arg(args, "--seconds", (minutes * 60.0) as u64),
            subscribers: arg(args, "--subscribers", 10_000),
            site_systems: arg(args, "--site-systems", 200),
            terminals: arg(args, "--terminals", 50),
            rate: arg(args, "--rate", 1.0),
        };
        assert!(
            soak.site_systems >= soak.terminals && soak.terminals > 0,
            "every terminal needs a site system paying on it"
        );
        soak
    }

    /// The arguments that give `self` to the child.
    pub(crate) fn args(&self) -> Vec<String> {
        [
            ("--seconds", self.seconds.to_string()),
            ("--subscribers", self.subscribers.to_string()),
            ("--site-systems", self.site_systems.to_string()),
            ("--terminals", self.terminals.to_string()),
            ("--rate", self.rate.to_string()),
        ]
        .into_iter()
        .flat_map(|(name, value)| [name.to_owned(), value])
        .collect()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    eps_api::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let soak = Soak::parse(&args);
    let passed = if args.iter().any(|a| a == "load") {
        runtime.block_on(load::run(soak));
        true
    } else {
        runtime.block_on(eps::run(soak))
    };
    std::process::exit(if passed { 0 } else { 1 });
}
