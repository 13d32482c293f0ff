//! The one driver: the only code that touches sockets, timers and tasks on the EPS side.
//!
//! [`OpiBackend::start`] binds every channel-1 listener first (terminals may call back as soon
//! as a request is out), then starts one driver task per terminal, which logs in and hands out
//! its [`OpiTerminal`]. Each task runs the sans-IO [`crate::session::Conversation`] against real
//! connections: a fresh channel-0 connection per request, callbacks from the shared listener.

mod actor;
mod callback;
mod health;
pub(crate) mod io;

use std::collections::{BTreeMap, HashMap};
use std::io as stdio;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use eps_core::ids::TerminalId;
use eps_core::terminal::{SharedTerminal, TerminalStatus};
use tokio::net::{TcpListener, lookup_host};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub(crate) use actor::Command;
use actor::{Actor, Channels, Settings};
use callback::Route;
pub(crate) use health::SharedHealth;

use crate::config::{ConfigError, OpiTerminalConfig};
use crate::session::Identity;
use crate::terminal::OpiTerminal;

/// Why the backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A terminal's configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A channel-1 listener could not be bound.
    #[error("cannot listen for callbacks on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: stdio::Error,
    },
    /// A terminal's channel-0 host name does not resolve (needed to match its callbacks).
    #[error("terminal {terminal}: cannot resolve {address}: {reason}")]
    Resolve {
        /// The terminal.
        terminal: TerminalId,
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
}

/// The running OPI backend: one driver per terminal and the shared callback listeners.
#[derive(Debug)]
pub struct OpiBackend {
    terminals: BTreeMap<TerminalId, Arc<OpiTerminal>>,
    callback_addresses: BTreeMap<TerminalId, SocketAddr>,
    stop_drivers: watch::Sender<bool>,
    stop_listeners: watch::Sender<bool>,
    drivers: Vec<JoinHandle<()>>,
    listeners: Vec<JoinHandle<()>>,
}

impl OpiBackend {
    /// Binds the callback listeners, then starts one driver per terminal (each logs in).
    pub async fn start(configs: Vec<OpiTerminalConfig>) -> Result<Self, StartError> {
        let mut planned = Vec::with_capacity(configs.len());
        for config in configs {
            let profile = config.validate()?;
            if planned
                .iter()
                .any(|(c, _): &(OpiTerminalConfig, _)| c.id == config.id)
            {
                return Err(ConfigError::DuplicateId(config.id).into());
            }
            planned.push((config, profile));
        }

        let mut by_listen: HashMap<SocketAddr, Vec<usize>> = HashMap::new();
        for (index, (config, _)) in planned.iter().enumerate() {
            by_listen
                .entry(config.channel1_listen)
                .or_default()
                .push(index);
        }
        let mut bound = HashMap::new();
        for address in by_listen.keys() {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|source| StartError::Bind {
                    address: *address,
                    source,
                })?;
            bound.insert(*address, listener);
        }

        let (stop_drivers, _) = watch::channel(false);
        let (stop_listeners, _) = watch::channel(false);
        let mut routes: HashMap<SocketAddr, Vec<Route>> = HashMap::new();
        let mut terminals = BTreeMap::new();
        let mut callback_addresses = BTreeMap::new();
        let mut drivers = Vec::new();
        for (config, profile) in planned {
            let source = match config.callback_source {
                Some(ip) => ip,
                None => resolve(&config).await?,
            };
            let (commands_tx, commands) = mpsc::channel(16);
            let (inbound_tx, inbound) = mpsc::unbounded_channel();
            let (status_tx, status) = watch::channel(TerminalStatus::Unknown);
            let health = SharedHealth::default();
            routes
                .entry(config.channel1_listen)
                .or_default()
                .push(Route {
                    source,
                    workstation_id: config.workstation_id.clone(),
                    inbound: inbound_tx,
                });
            if let Some(listener) = bound.get(&config.channel1_listen)
                && let Ok(address) = listener.local_addr()
            {
                callback_addresses.insert(config.id.clone(), address);
            }
            let connect_timeout = profile.timers.connect;
            let hard_cap = profile.timers.hard_cap;
            let settings = Settings {
                id: config.id.clone(),
                channel0: config.channel0.clone(),
                identity: Identity {
                    workstation_id: config.workstation_id.clone(),
                    pop_id: config.pop_id.clone(),
                    application_sender: config.application_sender.clone(),
                },
                profile: Arc::new(profile),
                currency: config.currency,
            };
            let channels = Channels {
                commands,
                inbound,
                status: status_tx,
                health: health.clone(),
                stop: stop_drivers.subscribe(),
            };
            terminals.insert(
                config.id.clone(),
                Arc::new(OpiTerminal::new(
                    config.id,
                    connect_timeout,
                    commands_tx,
                    status,
                    health,
                    hard_cap,
                )),
            );
            drivers.push((settings, channels));
        }
        let listeners = bound
            .into_iter()
            .map(|(address, listener)| {
                let routes = routes.remove(&address).unwrap_or_default();
                tokio::spawn(callback::serve(
                    listener,
                    routes,
                    stop_listeners.subscribe(),
                ))
            })
            .collect();
        let drivers = drivers
            .into_iter()
            .map(|(settings, channels)| tokio::spawn(Actor::new(settings, channels).run()))
            .collect();
        Ok(Self {
            terminals,
            callback_addresses,
            stop_drivers,
            stop_listeners,
            drivers,
            listeners,
        })
    }

    /// A terminal by id.
    pub fn terminal(&self, id: &TerminalId) -> Option<SharedTerminal> {
        self.terminals
            .get(id)
            .map(|t| Arc::clone(t) as SharedTerminal)
    }

    /// Every terminal, by id.
    pub fn terminals(&self) -> BTreeMap<TerminalId, SharedTerminal> {
        self.terminals
            .iter()
            .map(|(id, t)| (id.clone(), Arc::clone(t) as SharedTerminal))
            .collect()
    }

    /// The address a terminal's callbacks are accepted on (the bound port, when configured as 0).
    pub fn callback_address(&self, id: &TerminalId) -> Option<SocketAddr> {
        self.callback_addresses.get(id).copied()
    }

    /// Stops gracefully: each driver finishes the request in progress (bounded by its timers),
    /// then the listeners close.
    pub async fn shutdown(mut self) {
        let _ = self.stop_drivers.send(true);
        for driver in self.drivers.drain(..) {
            let _ = driver.await;
        }
        let _ = self.stop_listeners.send(true);
        for listener in self.listeners.drain(..) {
            let _ = listener.await;
        }
    }
}

impl Drop for OpiBackend {
    fn drop(&mut self) {
        for task in self.drivers.iter().chain(self.listeners.iter()) {
            task.abort();
        }
    }
}

async fn resolve(config: &OpiTerminalConfig) -> Result<IpAddr, StartError> {
    let error = |reason: String| StartError::Resolve {
        terminal: config.id.clone(),
        address: config.channel0.clone(),
        reason,
    };
    lookup_host(&config.channel0)
        .await
        .map_err(|e| error(e.to_string()))?
        .next()
        .map(|address| address.ip())
        .ok_or_else(|| error("no address".to_owned()))
}
