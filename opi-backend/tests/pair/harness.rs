//! A virtual link between the EPS's conversation core and the simulator's core: bytes go through
//! the real codec both ways, time is a virtual clock, and nothing touches a socket (quinn's
//! `Pair`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eps_core::ids::TerminalRequestId;
use eps_core::money::{Amount, Currency};
use eps_core::prompt::PromptAnswer;
use eps_core::receipt::ReceiptCopy;
use eps_core::terminal::{CardOperation, DeviceOutput, TerminalError};
use opi_backend::codec::{self, FrameDecoder};
use opi_backend::message::RequestId;
use opi_backend::profile::TerminalProfile;
use opi_backend::session::{Conversation, Event, Finished, Identity, InputKey, Link, Operation};
use opi_backend::sim::{SimConfig, SimCore, SimEvent, SimLink};
use time::OffsetDateTime;
use time::macros::datetime;

/// How the test's observer answers inputs.
#[derive(Debug, Clone)]
pub(crate) enum InputPolicy {
    /// Answer at once.
    Answer(PromptAnswer),
    /// Never answer (the conversation's timer sends the default).
    Silent,
}

/// How the terminal's channel-0 port behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reachability {
    /// Connections succeed.
    Up,
    /// Connections are refused at once.
    Refused,
    /// Connections hang (the connect timer decides).
    Blackhole,
}

/// What the observer saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    BeforeSend,
    Sent,
    Output(DeviceOutput),
    Input(String),
    InputWithdrawn,
    CardAcquired,
    Abort(Result<(), TerminalError>),
}

/// How many virtual-clock deadlines a run may pass before the test fails as stuck in a loop.
const MAX_ADVANCES: usize = 10_000;

pub(crate) struct Pair {
    pub(crate) now: Instant,
    start: Instant,
    wall: OffsetDateTime,
    pub(crate) profile: Arc<TerminalProfile>,
    pub(crate) identity: Identity,
    pub(crate) sim: SimCore,
    pub(crate) eps: Option<Conversation>,
    pub(crate) reach: Reachability,
    pub(crate) before_send: Result<(), String>,
    pub(crate) input: InputPolicy,
    /// Drop every frame the EPS writes on the abort link (the abort never arrives).
    pub(crate) swallow_abort: bool,
    /// Refuse every channel-1 connection (the EPS's listener is down).
    pub(crate) refuse_callbacks: bool,
    pub(crate) seen: Vec<Seen>,
    pub(crate) outcome: Option<Finished>,
    pub(crate) errors: Vec<String>,
    eps_to_sim: HashMap<Link, SimLink>,
    sim_to_eps: HashMap<SimLink, Link>,
    eps_decoders: HashMap<Link, FrameDecoder>,
    sim_decoders: HashMap<SimLink, FrameDecoder>,
    pending_inputs: Vec<InputKey>,
    next_callback: u64,
    next_id: u64,
}

impl Pair {
    pub(crate) fn new(config: SimConfig) -> Self {
        Self::with_profile(config, TerminalProfile::default())
    }

    #[allow(clippy::disallowed_methods)] // the virtual clock's epoch; never read again
    pub(crate) fn with_profile(config: SimConfig, profile: TerminalProfile) -> Self {
        let now = Instant::now();
        let wall = datetime!(2026-03-01 10:00 UTC);
        Self {
            now,
            start: now,
            wall,
            profile: Arc::new(profile),
            identity: Identity {
                workstation_id: "1".into(),
                pop_id: Some("001".into()),
                application_sender: "EPS".into(),
            },
            sim: SimCore::new(config, now, wall),
            eps: None,
            reach: Reachability::Up,
            before_send: Ok(()),
            input: InputPolicy::Answer(PromptAnswer::Confirmation(true)),
            swallow_abort: false,
            refuse_callbacks: false,
            seen: Vec::new(),
            outcome: None,
            errors: Vec::new(),
            eps_to_sim: HashMap::new(),
            sim_to_eps: HashMap::new(),
            eps_decoders: HashMap::new(),
            sim_decoders: HashMap::new(),
            pending_inputs: Vec::new(),
            next_callback: 0,
            next_id: 1000,
        }
    }

    /// Virtual time since the pair was made.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub(crate) fn fresh_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId::parse(&self.next_id.to_string()).unwrap()
    }

    /// Starts a conversation (the previous one must be done) and returns its RequestID.
    pub(crate) fn start(&mut self, operation: Operation) -> RequestId {
        assert!(self.eps.as_ref().is_none_or(Conversation::is_done));
        let id = self.fresh_id();
        let wall = self.wall + (self.now - self.start);
        let conversation = Conversation::new(
            id.clone(),
            operation,
            self.identity.clone(),
            self.profile.clone(),
            self.now,
            wall,
        )
        .unwrap();
        self.eps = Some(conversation);
        self.seen.clear();
        self.outcome = None;
        self.errors.clear();
        id
    }

    /// Logs in (the simulator requires it by default).
    pub(crate) fn login(&mut self) {
        self.start(Operation::SessionStart(
            opi_backend::profile::SessionStart::Login,
        ));
        let outcome = self.run();
        assert!(matches!(outcome, Finished::Answered(_)), "{outcome:?}");
    }

    /// Runs the conversation to its end, moving virtual time to each next deadline.
    pub(crate) fn run(&mut self) -> Finished {
        for _ in 0..MAX_ADVANCES {
            self.drive();
            if self.eps.as_ref().is_some_and(Conversation::is_done) {
                return self.outcome.clone().expect("done without an outcome");
            }
            assert!(self.advance(), "stuck: no deadline and nothing to do");
        }
        panic!(
            "the conversation did not end within {MAX_ADVANCES} deadlines ({:?} of virtual time); \
             seen: {:?}",
            self.now - self.start,
            self.seen
        );
    }

    /// Runs until the observer has seen `what`, or the conversation is done.
    pub(crate) fn run_until(&mut self, what: impl Fn(&Seen) -> bool) {
        for _ in 0..MAX_ADVANCES {
            self.drive();
            if self.seen.iter().any(&what) || self.eps.as_ref().is_some_and(Conversation::is_done) {
                return;
            }
            assert!(self.advance(), "stuck: no deadline and nothing to do");
        }
        panic!(
            "what the test waits for was not seen within {MAX_ADVANCES} deadlines ({:?} of \
             virtual time); seen: {:?}",
            self.now - self.start,
            self.seen
        );
    }

    /// Asks the conversation to abort.
    pub(crate) fn abort(&mut self) {
        let id = self.fresh_id();
        let now = self.now;
        self.eps.as_mut().unwrap().handle_abort(id, now).unwrap();
    }

    /// Moves virtual time to the earliest deadline; false if there is none.
    pub(crate) fn advance(&mut self) -> bool {
        let eps = self.eps.as_ref().and_then(Conversation::poll_timeout);
        let sim = self.sim.poll_timeout();
        let Some(next) = [eps, sim].into_iter().flatten().min() else {
            return false;
        };
        self.now = self.now.max(next);
        let now = self.now;
        if let Some(eps) = self.eps.as_mut() {
            eps.handle_timeout(now);
        }
        self.sim.handle_timeout(now);
        true
    }

    /// Moves everything that can move without time passing.
    pub(crate) fn drive(&mut self) {
        while self.step() {}
    }

    fn step(&mut self) -> bool {
        let mut moved = false;
        let now = self.now;
        while let Some(event) = self.eps.as_mut().and_then(Conversation::poll_event) {
            moved = true;
            self.on_eps_event(event, now);
        }
        while let Some(transmit) = self.eps.as_mut().and_then(Conversation::poll_transmit) {
            moved = true;
            let link = transmit.link;
            if link == Link::Abort && self.swallow_abort {
                continue;
            }
            let bytes = codec::encode(&transmit.message, &self.profile.write_options()).unwrap();
            if let Some(&sim_link) = self.eps_to_sim.get(&link) {
                self.eps.as_mut().unwrap().handle_written(link, now);
                self.deliver_to_sim(sim_link, &bytes);
            } else {
                self.eps
                    .as_mut()
                    .unwrap()
                    .handle_write_failed(link, 0, "not connected", now);
            }
        }
        while let Some(event) = self.sim.poll_event() {
            moved = true;
            self.on_sim_event(event, now);
        }
        while let Some(transmit) = self.sim.poll_transmit() {
            moved = true;
            let bytes = transmit.payload.render().unwrap();
            if let Some(&link) = self.sim_to_eps.get(&transmit.link) {
                self.deliver_to_eps(link, &bytes);
            }
        }
        moved
    }

    fn on_eps_event(&mut self, event: Event, now: Instant) {
        let eps = self.eps.as_mut().unwrap();
        match event {
            Event::Connect(link) => match self.reach {
                Reachability::Up => {
                    let sim_link = self.sim.handle_accepted();
                    self.eps_to_sim.insert(link, sim_link);
                    self.sim_to_eps.insert(sim_link, link);
                    self.eps_decoders.insert(link, FrameDecoder::default());
                    self.sim_decoders.insert(sim_link, FrameDecoder::default());
                    eps.handle_connected(link, now).unwrap();
                }
                Reachability::Refused => eps.handle_connect_failed(link, "connection refused", now),
                Reachability::Blackhole => {}
            },
            Event::Close(link) => {
                if let Some(sim_link) = self.eps_to_sim.remove(&link) {
                    self.sim_to_eps.remove(&sim_link);
                    self.sim_decoders.remove(&sim_link);
                    self.sim.handle_closed(sim_link, now);
                }
                self.eps_decoders.remove(&link);
            }
            Event::BeforeSend => {
                self.seen.push(Seen::BeforeSend);
                eps.handle_send_permission(self.before_send.clone(), now)
                    .unwrap();
            }
            Event::Sent => self.seen.push(Seen::Sent),
            Event::Output(output) => self.seen.push(Seen::Output(output)),
            Event::Input { key, request } => {
                self.seen
                    .push(Seen::Input(request.spec.command.to_string()));
                match self.input.clone() {
                    InputPolicy::Answer(answer) => {
                        eps.handle_input_answer(key, Some(answer), now).unwrap()
                    }
                    InputPolicy::Silent => self.pending_inputs.push(key),
                }
            }
            Event::InputWithdrawn(_) => self.seen.push(Seen::InputWithdrawn),
            Event::CardAcquired => self.seen.push(Seen::CardAcquired),
            Event::AbortAnswered(result) => self.seen.push(Seen::Abort(result)),
            Event::Finished(outcome) => self.outcome = Some(outcome),
        }
    }

    fn on_sim_event(&mut self, event: SimEvent, now: Instant) {
        match event {
            SimEvent::Connect(sim_link) if self.refuse_callbacks => {
                self.sim.handle_connect_failed(sim_link, now);
            }
            SimEvent::Connect(sim_link) => {
                self.next_callback += 1;
                let link = Link::Callback(self.next_callback);
                self.sim_to_eps.insert(sim_link, link);
                self.eps_to_sim.insert(link, sim_link);
                self.sim_decoders.insert(sim_link, FrameDecoder::default());
                self.eps_decoders.insert(link, FrameDecoder::default());
                self.sim.handle_connected(sim_link, now);
            }
            SimEvent::Close(sim_link) => {
                if let Some(link) = self.sim_to_eps.remove(&sim_link) {
                    self.eps_to_sim.remove(&link);
                    self.eps_decoders.remove(&link);
                    if let Some(eps) = self.eps.as_mut() {
                        eps.handle_closed(link, now);
                    }
                }
                self.sim_decoders.remove(&sim_link);
            }
        }
    }

    fn deliver_to_sim(&mut self, link: SimLink, bytes: &[u8]) {
        let now = self.now;
        let Some(decoder) = self.sim_decoders.get_mut(&link) else {
            return;
        };
        decoder.push(bytes);
        loop {
            let Some(decoder) = self.sim_decoders.get_mut(&link) else {
                return;
            };
            match decoder.next_frame() {
                Ok(Some(frame)) => match codec::decode(frame.body()) {
                    Ok(message) => {
                        if let Err(e) = self.sim.handle_message(link, message, now) {
                            self.errors.push(format!("sim: {e}"));
                        }
                    }
                    Err(e) => {
                        let error = match codec::envelope(frame.body()) {
                            Ok(envelope) => {
                                self.sim
                                    .handle_undecodable(link, &envelope, &e.to_string(), now)
                            }
                            Err(_) => self.sim.handle_malformed(link, &e.to_string(), now),
                        };
                        self.errors.push(format!("sim: {error}"));
                    }
                },
                Ok(None) => return,
                Err(e) => {
                    self.errors.push(format!(
                        "sim: {}",
                        self.sim.handle_malformed(link, &e.to_string(), now)
                    ));
                    return;
                }
            }
        }
    }

    fn deliver_to_eps(&mut self, link: Link, bytes: &[u8]) {
        let now = self.now;
        let Some(decoder) = self.eps_decoders.get_mut(&link) else {
            return;
        };
        decoder.push(bytes);
        loop {
            let Some(decoder) = self.eps_decoders.get_mut(&link) else {
                return;
            };
            let Some(eps) = self.eps.as_mut() else {
                return;
            };
            match decoder.next_frame() {
                Ok(Some(frame)) => match codec::decode(frame.body()) {
                    Ok(message) => {
                        if let Err(e) = eps.handle_message(link, message, now) {
                            self.errors.push(format!("eps: {e}"));
                        }
                    }
                    // Like the driver: a well-formed frame gets its envelope read and answered.
                    Err(e) => {
                        let error = match codec::envelope(frame.body()) {
                            Ok(envelope) => {
                                eps.handle_undecodable(link, &envelope, &e.to_string(), now)
                            }
                            Err(_) => eps.handle_malformed(link, &e.to_string(), now),
                        };
                        self.errors.push(format!("eps: {error}"));
                    }
                },
                Ok(None) => return,
                Err(e) => {
                    self.errors.push(format!(
                        "eps: {}",
                        eps.handle_malformed(link, &e.to_string(), now)
                    ));
                    return;
                }
            }
        }
    }

    /// Answers the oldest input left pending under [`InputPolicy::Silent`].
    pub(crate) fn answer_pending_input(
        &mut self,
        answer: Option<PromptAnswer>,
    ) -> Result<(), opi_backend::session::SessionError> {
        let key = self.pending_inputs.remove(0);
        let now = self.now;
        self.eps
            .as_mut()
            .unwrap()
            .handle_input_answer(key, answer, now)
    }

    /// The receipts the observer got, by copy.
    pub(crate) fn receipts(&self) -> Vec<(ReceiptCopy, Vec<String>)> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Output(DeviceOutput::Receipt { copy, lines, .. }) => {
                    Some((*copy, lines.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The displays the observer got.
    pub(crate) fn displays(&self) -> usize {
        self.seen
            .iter()
            .filter(|s| matches!(s, Seen::Output(DeviceOutput::Display { .. })))
            .count()
    }
}

pub(crate) fn eur(value: &str) -> Amount {
    Amount::parse(value, Currency::EUR).unwrap()
}

pub(crate) fn payment(value: &str) -> Operation {
    Operation::Card(CardOperation::Payment { amount: eur(value) })
}

pub(crate) fn terminal_id(id: &RequestId) -> TerminalRequestId {
    TerminalRequestId::parse(id.as_str()).unwrap()
}
