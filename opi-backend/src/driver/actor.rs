//! One terminal's driver task: it owns the terminal's sockets, timers and observer calls, runs
//! one conversation at a time, keeps the session (Login at start and after `LoggedOut`), checks
//! health with Diagnosis while idle, and answers callbacks that belong to no request.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use eps_core::clock::{Clock, SystemClock};
use eps_core::ids::{TerminalId, TerminalRequestId};
use eps_core::money::Currency;
use eps_core::redact::MaskedText;
use eps_core::terminal::{
    DiagnosisResult, LastResult, LinkState, OperationObserver, ReconciliationOutcome,
    TerminalError, TerminalOutcome, TerminalRequest, TerminalResponse, TerminalResult,
    TerminalService, TerminalStatus,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use tracing::{Instrument, Span, debug, info, warn};

use super::SharedHealth;
use super::callback::Inbound;
use super::io::{self, Connection, IoEvent};
use crate::codec;
use crate::message::{Message, RequestId};
use crate::profile::{SessionStart, TerminalProfile};
use crate::session::{
    self, Answer, Conversation, Event, Finished, Identity, InputKey, Link, Operation, Transmit,
};

mod run;
mod terminal_session;
mod trace;

/// What the terminal handle asks of its driver. Each request carries the caller's span, so the
/// driver's lines about it carry the caller's fields (the HTTP request ID among them).
pub(crate) enum Command {
    Card {
        request: TerminalRequest,
        observer: Arc<dyn OperationObserver>,
        reply: oneshot::Sender<TerminalOutcome>,
        span: Span,
    },
    Abort {
        reply: oneshot::Sender<Result<(), TerminalError>>,
    },
    LastResult {
        request_id: TerminalRequestId,
        reply: oneshot::Sender<Result<LastResult, TerminalError>>,
        span: Span,
    },
    Reprint {
        request_id: TerminalRequestId,
        observer: Arc<dyn OperationObserver>,
        reply: oneshot::Sender<Result<TerminalResponse, TerminalError>>,
        span: Span,
    },
    Reconcile {
        request_id: TerminalRequestId,
        closure: bool,
        observer: Arc<dyn OperationObserver>,
        reply: oneshot::Sender<ReconciliationOutcome>,
        span: Span,
    },
    Service {
        service: TerminalService,
        reply: oneshot::Sender<Result<TerminalResult, TerminalError>>,
        span: Span,
    },
}

impl Command {
    /// The span the driver serves it in.
    fn span(&self) -> Span {
        match self {
            Self::Card { span, .. }
            | Self::LastResult { span, .. }
            | Self::Reprint { span, .. }
            | Self::Reconcile { span, .. }
            | Self::Service { span, .. } => span.clone(),
            Self::Abort { .. } => Span::none(),
        }
    }
}

/// A terminal's fixed settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) id: TerminalId,
    pub(crate) channel0: String,
    pub(crate) identity: Identity,
    pub(crate) profile: Arc<TerminalProfile>,
    pub(crate) currency: Currency,
}

/// The channels a driver task listens to.
pub(crate) struct Channels {
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) inbound: mpsc::UnboundedReceiver<Inbound>,
    pub(crate) status: watch::Sender<TerminalStatus>,
    pub(crate) health: SharedHealth,
    pub(crate) stop: watch::Receiver<bool>,
}

type LinkKey = (u64, Link);

enum LinkIo {
    Connected(u64, Link, TcpStream),
    ConnectFailed(u64, Link, String),
    Io(IoEvent<LinkKey>),
}

impl From<IoEvent<LinkKey>> for LinkIo {
    fn from(event: IoEvent<LinkKey>) -> Self {
        Self::Io(event)
    }
}

struct InputAnswered {
    generation: u64,
    key: InputKey,
    answer: Option<eps_core::prompt::PromptAnswer>,
}

/// A conversation with its connections and pending observer work.
struct Running {
    conversation: Conversation,
    generation: u64,
    observer: Option<Arc<dyn OperationObserver>>,
    links: HashMap<Link, Connection>,
    connecting: HashMap<Link, AbortHandle>,
    callbacks: HashMap<u64, mpsc::UnboundedSender<Vec<u8>>>,
    /// Callback connections whose Input answer is secret (masked in the trace).
    secret_callbacks: HashSet<u64>,
    inputs: HashMap<InputKey, AbortHandle>,
    abort_reply: Option<oneshot::Sender<Result<(), TerminalError>>>,
    outcome: Option<Finished>,
    connected: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        for handle in self.connecting.values().chain(self.inputs.values()) {
            handle.abort();
        }
    }
}

/// One terminal's driver; see the module doc.
pub(crate) struct Actor {
    settings: Settings,
    channels: Channels,
    link_tx: mpsc::UnboundedSender<LinkIo>,
    link_rx: mpsc::UnboundedReceiver<LinkIo>,
    input_tx: mpsc::UnboundedSender<InputAnswered>,
    input_rx: mpsc::UnboundedReceiver<InputAnswered>,
    generation: u64,
    logged_in: bool,
    lingering: Option<Running>,
    next_health: Option<Instant>,
    salt: u128,
    commands_open: bool,
    /// True while a domain command is served; internal requests (Login, Diagnosis) alone do
    /// not make the terminal busy: commands arriving meanwhile wait for them.
    serving: bool,
    deferred: VecDeque<Command>,
}

/// The driver's clock: tokio's (so paused test time works), as a std `Instant` for the core.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Actor {
    pub(crate) fn new(settings: Settings, channels: Channels) -> Self {
        let (link_tx, link_rx) = mpsc::unbounded_channel();
        let (input_tx, input_rx) = mpsc::unbounded_channel();
        let salt = settings.id.as_str().bytes().fold(0_u128, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(u128::from(b))
        });
        Self {
            logged_in: settings.profile.session_start == SessionStart::None,
            settings,
            channels,
            link_tx,
            link_rx,
            input_tx,
            input_rx,
            generation: 0,
            lingering: None,
            next_health: None,
            salt,
            commands_open: true,
            serving: false,
            deferred: VecDeque::new(),
        }
    }

    /// Runs until stopped (after the request in progress) or until every handle is gone.
    pub(crate) async fn run(mut self) {
        self.set_status(TerminalStatus::Unknown);
        if let Err(reason) = self.start_session().await {
            warn!(terminal = %self.settings.id, %reason, "session start failed; retried before the next request");
        }
        self.schedule_health();
        loop {
            if let Some(mut run) = self.lingering.take() {
                self.drive(&mut run, true).await;
            }
            if let Some(command) = self.deferred.pop_front() {
                self.serve(command).await;
                continue;
            }
            let health = self.next_health;
            tokio::select! {
                _ = self.channels.stop.changed() => break,
                command = self.channels.commands.recv() => match command {
                    Some(command) => self.serve(command).await,
                    None => break,
                },
                Some(inbound) = self.channels.inbound.recv() => self.unowned_callback(inbound),
                Some(_) = self.input_rx.recv() => {}
                Some(_) = self.link_rx.recv() => {}
                () = sleep_until(health), if health.is_some() => self.health_check().await,
            }
        }
        if let Some(mut run) = self.lingering.take() {
            self.drive(&mut run, true).await;
        }
        if self.settings.profile.end_session_on_stop && self.logged_in {
            let _ = self.end_session().await;
        }
        for command in self.deferred.drain(..) {
            refuse(
                command,
                "the terminal driver stopped before the request started",
                false,
            );
        }
        info!(terminal = %self.settings.id, "terminal driver stopped");
    }

    async fn serve(&mut self, command: Command) {
        self.serving = true;
        let span = command.span();
        self.serve_command(command).instrument(span).await;
        self.serving = false;
        self.publish_session();
        self.schedule_health();
    }

    async fn serve_command(&mut self, command: Command) {
        match command {
            Command::Card {
                request,
                observer,
                reply,
                ..
            } => {
                let outcome = self.card(request, observer).await;
                let _ = reply.send(outcome);
            }
            Command::Abort { reply } => {
                let _ = reply.send(Err(TerminalError::Protocol(
                    "no request in progress to abort".to_owned(),
                )));
            }
            Command::LastResult {
                request_id, reply, ..
            } => {
                self.set_status(TerminalStatus::Busy);
                let finished = self
                    .with_session_retry(
                        RequestId::from(&request_id),
                        Operation::RepeatLastMessage,
                        None,
                    )
                    .await;
                let result = match finished {
                    Finished::Answered(Answer::Card(response)) => {
                        session::last_result(&response, self.settings.currency)
                    }
                    other => Err(error_of(other)),
                };
                let _ = reply.send(result);
            }
            Command::Reprint {
                request_id,
                observer,
                reply,
                ..
            } => {
                self.set_status(TerminalStatus::Busy);
                let finished = self
                    .with_session_retry(
                        RequestId::from(&request_id),
                        Operation::TicketReprint,
                        Some(observer),
                    )
                    .await;
                let result = match finished {
                    Finished::Answered(Answer::Card(response)) => {
                        let answer = session::terminal_response(&response, self.settings.currency);
                        match answer.result {
                            TerminalResult::Busy => Err(TerminalError::Busy),
                            TerminalResult::LoggedOut => Err(TerminalError::Refused(answer.result)),
                            _ => Ok(answer),
                        }
                    }
                    other => Err(error_of(other)),
                };
                let _ = reply.send(result);
            }
            Command::Service { service, reply, .. } => {
                self.set_status(TerminalStatus::Busy);
                let result = match service {
                    TerminalService::Login => self.operator_login().await,
                    TerminalService::Logoff => self.end_session().await,
                    TerminalService::Diagnosis => self.diagnosis().await,
                };
                info!(terminal = %self.settings.id, service = service.as_str(), ?result, "operator's request answered");
                let _ = reply.send(result);
            }
            Command::Reconcile {
                request_id,
                closure,
                observer,
                reply,
                ..
            } => {
                self.set_status(TerminalStatus::Busy);
                let finished = self
                    .end_of_day(RequestId::from(&request_id), closure, observer)
                    .await;
                let outcome = match finished {
                    Finished::Answered(Answer::Service(response)) => {
                        let (report, unreadable) =
                            session::reconciliation_report(&response, self.settings.currency);
                        if unreadable > 0 {
                            warn!(terminal = %self.settings.id, unreadable, "reconciliation lines without a usable amount left out");
                        }
                        ReconciliationOutcome::Answered(report)
                    }
                    Finished::Answered(Answer::Card(_)) => ReconciliationOutcome::Lost {
                        reason: "the terminal answered a service request with a card response"
                            .to_owned(),
                    },
                    Finished::Lost { reason } => ReconciliationOutcome::Lost { reason },
                    Finished::NotSent { reason } => ReconciliationOutcome::NotSent { reason },
                };
                let _ = reply.send(outcome);
            }
        }
    }

    /// A financial request: never sent twice. After a `LoggedOut` answer the session is opened
    /// again for the next request, and the answer goes back as it is.
    async fn card(
        &mut self,
        request: TerminalRequest,
        observer: Arc<dyn OperationObserver>,
    ) -> TerminalOutcome {
        self.set_status(TerminalStatus::Busy);
        if let Err(reason) = self.ensure_session().await {
            return TerminalOutcome::NotSent {
                reason: format!("no session with the terminal: {reason}"),
            };
        }
        let operation = Operation::Card(request.operation);
        let currency = operation
            .amount()
            .map_or(self.settings.currency, |a| a.currency());
        if !self.settings.profile.write_currency && currency != self.settings.currency {
            // Without `Currency` the terminal would take the amount in its own currency.
            return TerminalOutcome::NotSent {
                reason: format!(
                    "the terminal takes amounts without a currency, in {}; this one is in {currency}",
                    self.settings.currency
                ),
            };
        }
        let finished = self
            .converse(
                RequestId::from(&request.request_id),
                operation,
                Some(observer),
            )
            .await;
        match finished {
            Finished::Answered(Answer::Card(response)) => {
                let answer = session::terminal_response(&response, currency);
                if answer.result == TerminalResult::LoggedOut {
                    self.logged_in = false;
                    if let Err(reason) = self.start_session().await {
                        warn!(terminal = %self.settings.id, %reason, "session start after LoggedOut failed");
                    }
                }
                TerminalOutcome::Answered(Box::new(answer))
            }
            Finished::Answered(Answer::Service(_)) => TerminalOutcome::Lost {
                reason: "the terminal answered a card request with a service response".to_owned(),
            },
            Finished::Lost { reason } => TerminalOutcome::Lost { reason },
            Finished::NotSent { reason } => TerminalOutcome::NotSent { reason },
        }
    }

    /// A non-financial request, sent once more (same RequestID) after a `LoggedOut` answer and a
    /// fresh session.
    async fn with_session_retry(
        &mut self,
        id: RequestId,
        operation: Operation,
        observer: Option<Arc<dyn OperationObserver>>,
    ) -> Finished {
        if let Err(reason) = self.ensure_session().await {
            return Finished::NotSent {
                reason: format!("no session with the terminal: {reason}"),
            };
        }
        let first = self
            .converse(id.clone(), operation.clone(), observer.clone())
            .await;
        let logged_out =
            matches!(&first, Finished::Answered(a) if a.result() == TerminalResult::LoggedOut);
        if !logged_out {
            return first;
        }
        self.logged_in = false;
        match self.start_session().await {
            Ok(()) => self.converse(id, operation, observer).await,
            Err(reason) => {
                warn!(terminal = %self.settings.id, %reason, "session start after LoggedOut failed");
                first
            }
        }
    }

    /// Diagnosis while idle; feeds the status watch.
    async fn health_check(&mut self) {
        if !self.logged_in {
            let _ = self.start_session().await;
        } else {
            let id = self.fresh_id();
            let finished = self.converse(id, Operation::Diagnosis, None).await;
            self.note_diagnosis(&finished);
            if matches!(&finished, Finished::Answered(a) if a.result() == TerminalResult::LoggedOut)
            {
                self.logged_in = false;
                let _ = self.start_session().await;
            }
        }
        self.publish_session();
        self.schedule_health();
    }

    /// An operator's Diagnosis (after a fresh session if the terminal logged out).
    async fn diagnosis(&mut self) -> Result<TerminalResult, TerminalError> {
        let id = self.fresh_id();
        let finished = self
            .with_session_retry(id, Operation::Diagnosis, None)
            .await;
        self.note_diagnosis(&finished);
        match finished {
            Finished::Answered(answer) if answer.result() == TerminalResult::Busy => {
                Err(TerminalError::Busy)
            }
            Finished::Answered(answer) => Ok(answer.result()),
            other => Err(error_of(other)),
        }
    }

    /// Keeps an answered Diagnosis as the terminal's last one.
    fn note_diagnosis(&self, finished: &Finished) {
        if let Finished::Answered(answer) = finished {
            let result = answer.result();
            self.channels.health.update(|health| {
                health.last_diagnosis = Some(DiagnosisResult {
                    at: SystemClock.now(),
                    result,
                });
            });
        }
    }

    /// Publishes whether the session is open.
    fn publish_session(&self) {
        let logged_in = self.logged_in;
        self.channels
            .health
            .update(|health| health.logged_in = logged_in);
    }

    fn schedule_health(&mut self) {
        self.next_health = self
            .settings
            .profile
            .health_check()
            .map(|every| now() + every);
    }

    /// Runs one conversation until its outcome is known; the rest (an abort's acknowledgement)
    /// finishes before the next one starts.
    async fn converse(
        &mut self,
        id: RequestId,
        operation: Operation,
        observer: Option<Arc<dyn OperationObserver>>,
    ) -> Finished {
        if let Some(mut run) = self.lingering.take() {
            self.drive(&mut run, true).await;
        }
        self.generation += 1;
        let conversation = match Conversation::new(
            id,
            operation,
            self.settings.identity.clone(),
            self.settings.profile.clone(),
            now(),
            SystemClock.now(),
        ) {
            Ok(conversation) => conversation,
            Err(e) => {
                return Finished::NotSent {
                    reason: e.to_string(),
                };
            }
        };
        debug!(terminal = %self.settings.id, request = %conversation.request_id(),
            kind = conversation.request_type(), "request started");
        let request_type = conversation.request_type().to_owned();
        let started = tokio::time::Instant::now();
        let mut run = Running {
            conversation,
            generation: self.generation,
            observer,
            links: HashMap::new(),
            connecting: HashMap::new(),
            callbacks: HashMap::new(),
            secret_callbacks: HashSet::new(),
            inputs: HashMap::new(),
            abort_reply: None,
            outcome: None,
            connected: false,
        };
        self.drive(&mut run, false).await;
        let finished = run.outcome.take().unwrap_or_else(|| Finished::Lost {
            reason: "the conversation ended without an outcome".to_owned(),
        });
        // Request types are the OPI names (a profile may rename reversals): a bounded set.
        metrics::histogram!(
            "eps_opi_round_trip_seconds",
            "request_type" => request_type,
            "outcome" => outcome_name(&finished),
        )
        .record(started.elapsed().as_secs_f64());
        self.note_status(&finished, run.connected);
        if !run.conversation.is_done() {
            self.lingering = Some(run);
        }
        finished
    }

    fn note_status(&self, finished: &Finished, connected: bool) {
        let status = match finished {
            Finished::Answered(answer) => match answer.result() {
                TerminalResult::LoggedOut => TerminalStatus::LoggedOut,
                TerminalResult::Busy => TerminalStatus::Busy,
                TerminalResult::DeviceUnavailable => TerminalStatus::Offline,
                _ => TerminalStatus::Online,
            },
            Finished::NotSent { .. } if !connected => TerminalStatus::Offline,
            Finished::NotSent { .. } => TerminalStatus::Online,
            Finished::Lost { .. } => TerminalStatus::Unknown,
        };
        self.set_status(status);
        let (link, error) = match finished {
            Finished::Answered(_) => (LinkState::Up, None),
            Finished::NotSent { reason } if !connected => (LinkState::Down, Some(reason)),
            Finished::NotSent { reason } => (LinkState::Up, Some(reason)),
            Finished::Lost { reason } => (LinkState::Down, Some(reason)),
        };
        let now = SystemClock.now();
        self.channels.health.update(|health| {
            health.note_link(link, now);
            if let Some(error) = error {
                health.last_error = Some(MaskedText::new(error));
            }
        });
    }

    /// A callback while no request runs (late receipts, strays): answered, reported, not passed on.
    fn unowned_callback(&self, inbound: Inbound) {
        let (answer, reply) = match inbound {
            Inbound::Callback { request, reply, .. } => {
                warn!(terminal = %self.settings.id, got = %session::describe(&Message::DeviceRequest((*request).clone())),
                    "callback while no request runs; answered");
                let answer = session::unowned_response(
                    &request,
                    &self.settings.identity,
                    &self.settings.profile,
                );
                (answer, reply)
            }
            Inbound::Undecodable {
                envelope,
                reason,
                reply,
                ..
            } => {
                let Some(answer) = session::format_error_response(
                    &envelope,
                    &self.settings.identity.application_sender,
                ) else {
                    return;
                };
                warn!(terminal = %self.settings.id, %reason, "undecodable callback while no request runs; answered FormatError");
                (answer, reply)
            }
            Inbound::Closed { .. } => return,
        };
        if let Ok(frame) = codec::encode(&answer.into(), &self.settings.profile.write_options()) {
            let _ = reply.send(frame);
        }
    }

    fn fresh_id(&mut self) -> RequestId {
        self.salt = self.salt.wrapping_add(1);
        let millis = SystemClock.now().unix_timestamp_nanos() / 1_000_000;
        RequestId::from(&TerminalRequestId::generate(millis, self.salt))
    }

    fn set_status(&self, status: TerminalStatus) {
        self.publish_session();
        self.channels.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }
}

/// Answers a command that will not run: nothing was sent for it. `busy` tells the terminal is
/// busy (rather than stopped).
fn refuse(command: Command, reason: &str, busy: bool) {
    let reason = reason.to_owned();
    let query_error = || {
        if busy {
            TerminalError::Busy
        } else {
            TerminalError::Unreachable(reason.clone())
        }
    };
    match command {
        Command::Abort { reply } => {
            let _ = reply.send(Err(TerminalError::Protocol(reason.clone())));
        }
        Command::Card { reply, .. } => {
            let _ = reply.send(TerminalOutcome::NotSent { reason });
        }
        Command::LastResult { reply, .. } => {
            let _ = reply.send(Err(query_error()));
        }
        Command::Reprint { reply, .. } => {
            let _ = reply.send(Err(query_error()));
        }
        Command::Reconcile { reply, .. } => {
            let _ = reply.send(ReconciliationOutcome::NotSent { reason });
        }
        Command::Service { reply, .. } => {
            let _ = reply.send(Err(query_error()));
        }
    }
}

fn error_of(finished: Finished) -> TerminalError {
    match finished {
        Finished::Answered(answer) => match answer.result() {
            TerminalResult::Busy => TerminalError::Busy,
            other => TerminalError::Refused(other),
        },
        Finished::Lost { reason } => TerminalError::Lost(reason),
        Finished::NotSent { reason } => TerminalError::Unreachable(reason),
    }
}

fn outcome_name(finished: &Finished) -> &'static str {
    match finished {
        Finished::Answered(_) => "answered",
        Finished::Lost { .. } => "lost",
        Finished::NotSent { .. } => "not sent",
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
