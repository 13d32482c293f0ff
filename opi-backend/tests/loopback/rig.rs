//! A backend with simulated terminals on loopback, and an observer that records what it hears.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use eps_core::ids::{TerminalId, TerminalRequestId};
use eps_core::money::{Amount, Currency};
use eps_core::opi_trace::WireFrame;
use eps_core::prompt::PromptAnswer;
use eps_core::receipt::ReceiptCopy;
use eps_core::terminal::{
    CardOperation, DeviceOutput, InputRequest, OperationObserver, SharedTerminal, TerminalOutcome,
    TerminalRequest, TerminalResponse, TerminalStatus,
};
use opi_backend::profile::{ProfileRef, TerminalProfile};
use opi_backend::sim::{SimConfig, SimServer};
use opi_backend::{OpiBackend, OpiTerminalConfig};
use tokio::sync::mpsc;

/// What the observer heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Heard {
    BeforeSend,
    Sent,
    Output(DeviceOutput),
    Input(String),
    CardAcquired,
}

/// An observer that records, and answers inputs as told.
pub(crate) struct Recorder {
    heard: Mutex<Vec<Heard>>,
    tx: mpsc::UnboundedSender<Heard>,
    refuse: Option<String>,
    answer: Option<PromptAnswer>,
    frames: Mutex<Vec<WireFrame>>,
}

impl Recorder {
    pub(crate) fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Heard>) {
        Self::with(None, Some(PromptAnswer::Confirmation(true)))
    }

    pub(crate) fn with(
        refuse: Option<String>,
        answer: Option<PromptAnswer>,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<Heard>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let recorder = Self {
            heard: Mutex::new(Vec::new()),
            tx,
            refuse,
            answer,
            frames: Mutex::new(Vec::new()),
        };
        (Arc::new(recorder), rx)
    }

    fn hear(&self, heard: Heard) {
        self.heard.lock().unwrap().push(heard.clone());
        let _ = self.tx.send(heard);
    }

    pub(crate) fn heard(&self) -> Vec<Heard> {
        self.heard.lock().unwrap().clone()
    }

    /// Every frame traced so far, in order.
    pub(crate) fn frames(&self) -> Vec<WireFrame> {
        self.frames.lock().unwrap().clone()
    }

    pub(crate) fn receipts(&self) -> Vec<ReceiptCopy> {
        self.heard()
            .into_iter()
            .filter_map(|h| match h {
                Heard::Output(DeviceOutput::Receipt { copy, .. }) => Some(copy),
                _ => None,
            })
            .collect()
    }
}

#[async_trait]
impl OperationObserver for Recorder {
    async fn before_send(&self) -> Result<(), String> {
        self.hear(Heard::BeforeSend);
        match &self.refuse {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }
    async fn sent(&self) {
        self.hear(Heard::Sent);
    }
    async fn output(&self, output: DeviceOutput) {
        self.hear(Heard::Output(output));
    }
    async fn input(&self, request: InputRequest) -> Option<PromptAnswer> {
        self.hear(Heard::Input(request.spec.command.to_string()));
        self.answer.clone()
    }
    async fn card_acquired(&self) {
        self.hear(Heard::CardAcquired);
    }
    fn frame(&self, frame: WireFrame) {
        self.frames.lock().unwrap().push(frame);
    }
}

/// One simulated terminal behind the real backend.
pub(crate) struct Rig {
    pub(crate) sim: SimServer,
    pub(crate) backend: OpiBackend,
    pub(crate) terminal: SharedTerminal,
    next_id: AtomicU64,
}

pub(crate) fn quiet_profile() -> TerminalProfile {
    let mut profile = TerminalProfile::default();
    // No periodic Diagnosis in between a test's requests, unless a test asks for it.
    profile.timers.health_check = Duration::ZERO;
    profile
}

pub(crate) async fn sim(config: SimConfig) -> SimServer {
    SimServer::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

pub(crate) fn terminal_config(
    id: &str,
    sim: &SimServer,
    workstation: &str,
    profile: TerminalProfile,
) -> OpiTerminalConfig {
    let mut config = OpiTerminalConfig::new(
        TerminalId::parse(id).unwrap(),
        sim.channel0_address().to_string(),
        "127.0.0.1:0".parse().unwrap(),
        workstation,
    );
    config.profile = ProfileRef::Inline(Box::new(profile));
    config
}

impl Rig {
    pub(crate) async fn start() -> Self {
        Self::with(SimConfig::default(), quiet_profile()).await
    }

    pub(crate) async fn with(sim_config: SimConfig, profile: TerminalProfile) -> Self {
        Self::around(sim(sim_config).await, profile).await
    }

    /// The backend around a simulator already started (and scripted).
    pub(crate) async fn around(sim: SimServer, profile: TerminalProfile) -> Self {
        let config = terminal_config("lane-1", &sim, "1", profile);
        let id = config.id.clone();
        let backend = OpiBackend::start(vec![config]).await.unwrap();
        sim.set_callback(backend.callback_address(&id).unwrap().to_string());
        let terminal = backend.terminal(&id).unwrap();
        let rig = Self {
            sim,
            backend,
            terminal,
            next_id: AtomicU64::new(0),
        };
        rig.wait_for_status(TerminalStatus::Online).await;
        rig
    }

    pub(crate) async fn wait_for_status(&self, status: TerminalStatus) {
        let mut watch = self.terminal.status();
        let what = format!("the terminal to be {status:?}");
        bounded(&what, watch.wait_for(|s| *s == status))
            .await
            .unwrap();
    }

    pub(crate) fn fresh_id(&self) -> TerminalRequestId {
        let next = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        TerminalRequestId::parse(&format!("77{next:04}")).unwrap()
    }

    pub(crate) async fn run(
        &mut self,
        operation: CardOperation,
        observer: Arc<Recorder>,
    ) -> (TerminalRequestId, TerminalOutcome) {
        let request_id = self.fresh_id();
        let request = TerminalRequest {
            request_id: request_id.clone(),
            operation,
        };
        let what = format!("the outcome of request {request_id}");
        let outcome = bounded(&what, self.terminal.card_operation(request, observer)).await;
        (request_id, outcome)
    }

    pub(crate) async fn pay(
        &mut self,
        value: &str,
    ) -> (TerminalRequestId, TerminalOutcome, Arc<Recorder>) {
        let (recorder, _) = Recorder::new();
        let (id, outcome) = self
            .run(
                CardOperation::Payment { amount: eur(value) },
                recorder.clone(),
            )
            .await;
        (id, outcome, recorder)
    }
}

pub(crate) fn eur(value: &str) -> Amount {
    Amount::parse(value, Currency::EUR).unwrap()
}

pub(crate) fn answered(outcome: TerminalOutcome) -> TerminalResponse {
    match outcome {
        TerminalOutcome::Answered(response) => *response,
        other => panic!("expected an answer, got {other:?}"),
    }
}

/// The longest a loopback test waits for anything (a bound on a hang, not a pause).
pub(crate) const BOUND: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test after [`BOUND`] with `what` it was waiting for.
pub(crate) async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(BOUND, future).await {
        Ok(value) => value,
        Err(_) => panic!("waited {BOUND:?} for {what}"),
    }
}

/// Waits until the observer hears something matching `what` (described by `described`).
pub(crate) async fn until(
    rx: &mut mpsc::UnboundedReceiver<Heard>,
    described: &str,
    what: impl Fn(&Heard) -> bool,
) {
    let mut heard_so_far = Vec::new();
    let hear = async {
        while let Some(heard) = rx.recv().await {
            if what(&heard) {
                return;
            }
            heard_so_far.push(heard);
        }
        panic!("the observer closed before hearing {described}");
    };
    if tokio::time::timeout(BOUND, hear).await.is_err() {
        panic!("waited {BOUND:?} for the observer to hear {described}; it heard {heard_so_far:?}");
    }
}
