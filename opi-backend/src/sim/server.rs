//! The simulator on sockets: its driver (listener, connections, timers) around [`SimCore`], and
//! the [`SimServer`] handle tests and `eps demo` use to script it and read its ledger.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle};
use tracing::{debug, info, warn};

use super::{Ledger, LedgerEntry, Scenario, ScriptMatch, SimConfig, SimCore, SimEvent, SimLink};
use crate::driver::io::{self as framed, Connection, IoEvent};

enum SimIo {
    Connected(SimLink, TcpStream),
    ConnectFailed(SimLink, String),
    Io(IoEvent<SimLink>),
}

impl From<IoEvent<SimLink>> for SimIo {
    fn from(event: IoEvent<SimLink>) -> Self {
        Self::Io(event)
    }
}

/// A running simulator. Its ledger lives here, in memory, for as long as the simulator runs;
/// the EPS it talks to may restart meanwhile.
#[derive(Debug)]
pub struct SimServer {
    core: Arc<Mutex<SimCore>>,
    channel0: SocketAddr,
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    requests: watch::Receiver<u64>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Listens for channel 0 on `listen` (`127.0.0.1:0` picks a free port) and calls back to
    /// `config.callback`.
    pub async fn start(listen: SocketAddr, config: SimConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let channel0 = listener.local_addr()?;
        let wall = wall_clock();
        let core = Arc::new(Mutex::new(SimCore::new(config, now(), wall)));
        let (stop, stopped) = watch::channel(false);
        let (seen, requests) = watch::channel(0);
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(
            Arc::clone(&core),
            listener,
            stopped,
            seen,
            Arc::clone(&wake),
        ));
        info!(%channel0, "opi-sim listening");
        Ok(Self {
            core,
            channel0,
            wake,
            stop,
            requests,
            task: Some(task),
        })
    }

    /// The channel-0 address to point the POS at.
    pub fn channel0_address(&self) -> SocketAddr {
        self.channel0
    }

    /// A copy of the ledger.
    pub fn ledger(&self) -> Ledger {
        self.lock().ledger().clone()
    }

    /// Every channel-0 request received, oldest first.
    pub fn received(&self) -> Vec<super::Received> {
        self.lock().ledger().received().to_vec()
    }

    /// Every DeviceResponse the POS sent for the simulator's callbacks, oldest first.
    pub fn callback_answers(&self) -> Vec<super::CallbackAnswer> {
        self.lock().callback_answers().to_vec()
    }

    /// The ledger entry of a RequestID.
    pub fn entry(&self, request_id: &str) -> Option<LedgerEntry> {
        self.lock().ledger().by_request_id(request_id).cloned()
    }

    /// Queues `scenario` for the next financial request.
    pub fn push(&self, scenario: Scenario) {
        self.script(ScriptMatch::Financial, scenario);
    }

    /// Queues `scenario` for the next request `matching`.
    pub fn script(&self, matching: ScriptMatch, scenario: Scenario) {
        self.lock().script(matching, scenario);
    }

    /// Forgets every queued scenario.
    pub fn clear_script(&self) {
        self.lock().clear_script();
    }

    /// The settings in force.
    pub fn config(&self) -> SimConfig {
        self.lock().config().clone()
    }

    /// Changes the settings from the next request on.
    pub fn update_config(&self, change: impl FnOnce(&mut SimConfig)) {
        let mut core = self.lock();
        let mut config = core.config().clone();
        change(&mut config);
        core.set_config(config);
    }

    /// Points the callbacks at another address (e.g. once the EPS has bound its listener).
    pub fn set_callback(&self, address: impl Into<String>) {
        let address = address.into();
        self.update_config(|c| c.callback = address);
    }

    /// Whether a Login is in force.
    pub fn is_logged_in(&self) -> bool {
        self.lock().is_logged_in()
    }

    /// The PINs the terminal received (scenario `pin`), oldest first.
    pub fn pins(&self) -> Vec<String> {
        self.lock().pins().to_vec()
    }

    /// Answers the Logins held back (`hold_logins`) and holds no more; returns how many.
    pub fn release_logins(&self) -> usize {
        let released = self.lock().release_logins();
        // The driver loop writes the answers once it wakes.
        self.wake.notify_one();
        released
    }

    /// The number of channel-0 requests received so far, to await the next one.
    pub fn requests(&self) -> watch::Receiver<u64> {
        self.requests.clone()
    }

    /// Stops listening and closes every connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, SimCore> {
        lock(&self.core)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn lock(core: &Mutex<SimCore>) -> MutexGuard<'_, SimCore> {
    core.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The simulator's edge clock: tokio's, as the core's `Instant`.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

#[allow(clippy::disallowed_methods)] // the simulator's one wall clock (receipt and approval times)
fn wall_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn run(
    core: Arc<Mutex<SimCore>>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    seen: watch::Sender<u64>,
    wake: Arc<Notify>,
) {
    let (io_tx, mut io_rx) = mpsc::unbounded_channel::<SimIo>();
    let mut links: HashMap<SimLink, Connection> = HashMap::new();
    let mut connecting: HashMap<SimLink, AbortHandle> = HashMap::new();
    loop {
        let (events, transmits, deadline, callback, connect_timeout) = {
            let mut core = lock(&core);
            let events: Vec<_> = std::iter::from_fn(|| core.poll_event()).collect();
            let transmits: Vec<_> = std::iter::from_fn(|| core.poll_transmit()).collect();
            let config = core.config();
            (
                events,
                transmits,
                core.poll_timeout(),
                config.callback.clone(),
                config.callback_timeout,
            )
        };
        for event in events {
            match event {
                SimEvent::Connect(link) => {
                    let (tx, address) = (io_tx.clone(), callback.clone());
                    let task = tokio::spawn(async move {
                        let connect =
                            tokio::time::timeout(connect_timeout, TcpStream::connect(&address));
                        let io = match connect.await {
                            Ok(Ok(stream)) => SimIo::Connected(link, stream),
                            Ok(Err(e)) => SimIo::ConnectFailed(link, e.to_string()),
                            Err(_) => SimIo::ConnectFailed(link, "connect timed out".to_owned()),
                        };
                        let _ = tx.send(io);
                    });
                    connecting.insert(link, task.abort_handle());
                }
                SimEvent::Close(link) => {
                    links.remove(&link);
                    if let Some(task) = connecting.remove(&link) {
                        task.abort();
                    }
                }
            }
        }
        for transmit in transmits {
            match transmit.payload.render() {
                Ok(frame) => {
                    if let Some(connection) = links.get(&transmit.link) {
                        connection.send(frame);
                    }
                }
                Err(e) => warn!(error = %e, "opi-sim cannot encode a frame"),
            }
        }
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.changed() => return,
            () = wake.notified() => {}
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let link = lock(&core).handle_accepted();
                debug!(%peer, ?link, "opi-sim accepted a channel-0 connection");
                links.insert(link, framed::spawn(link, stream, io_tx.clone(), false));
            }
            Some(io) = io_rx.recv() => {
                let mut core = lock(&core);
                let at = now();
                match io {
                    SimIo::Connected(link, stream) => {
                        connecting.remove(&link);
                        links.insert(link, framed::spawn(link, stream, io_tx.clone(), false));
                        core.handle_connected(link, at);
                    }
                    SimIo::ConnectFailed(link, reason) => {
                        connecting.remove(&link);
                        debug!(?link, %reason, "opi-sim cannot reach the callback address");
                        core.handle_connect_failed(link, at);
                    }
                    SimIo::Io(IoEvent::Message(link, message, _)) => {
                        if let Err(e) = core.handle_message(link, *message, at) {
                            warn!(error = %e, "opi-sim got an unexpected message");
                        }
                        let count = core.requests_seen();
                        seen.send_if_modified(|c| std::mem::replace(c, count) != count);
                    }
                    SimIo::Io(IoEvent::Undecodable(link, envelope, reason)) => {
                        warn!(error = %core.handle_undecodable(link, &envelope, &reason, at), "opi-sim got an undecodable frame");
                        let count = core.requests_seen();
                        seen.send_if_modified(|c| std::mem::replace(c, count) != count);
                    }
                    SimIo::Io(IoEvent::Malformed(link, reason)) => {
                        links.remove(&link);
                        warn!(error = %core.handle_malformed(link, &reason, at), "opi-sim got an unreadable frame");
                    }
                    SimIo::Io(IoEvent::Closed(link) | IoEvent::WriteFailed(link, ..)) => {
                        links.remove(&link);
                        core.handle_closed(link, at);
                    }
                    SimIo::Io(IoEvent::Written(_)) => {}
                }
            }
            () = sleep => lock(&core).handle_timeout(now()),
        }
    }
}
