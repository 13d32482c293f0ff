//! The simulated terminal as a sans-IO state machine: channel-0 requests in, callbacks and
//! answers out, one job at a time, everything recorded in the ledger.
//!
//! Like the EPS's conversation core it is handed `now`, and is polled for frames
//! ([`SimCore::poll_transmit`]), connection work ([`SimCore::poll_event`]) and its next deadline
//! ([`SimCore::poll_timeout`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::card::{self, Decided};
use super::config::{CallbackIds, CallbackMode, SimConfig};
use super::job::{CallbackKind, Decision, Job, JobKind, Step, Wait};
use super::ledger::{CallbackAnswer, Ledger, LedgerEntry};
use super::scenario::Script;
use super::wire::{Payload, WireStyle};
use super::{Scenario, ScriptMatch, SimError, SimEvent, SimLink, SimTransmit};
use crate::codec::Envelope;
use crate::message::{
    Authorisation, CardRequestType, CardServiceRequest, CardServiceResponse, DeviceEvent,
    DeviceRequest, DeviceRequestType, DeviceResponse, DeviceTarget, EventType, Header, Input,
    InputCommand, InputCommandKind, InputValue, Message, MonetaryAmount, OriginalHeader, Output,
    OverallResult, Reconciliation, ReconciliationTotal, RequestId, ServiceRequest,
    ServiceRequestType, ServiceResponse, TerminalInfo, TextLine, Timestamp,
};
use crate::profile::WireEncoding;
use crate::session;

mod decide;
mod held;
mod linger;
mod requests;
mod steps;

use steps::{CallbackTimeouts, callback_failed, callback_payload};

/// The simulated terminal; see the module doc.
#[derive(Debug)]
pub struct SimCore {
    config: SimConfig,
    ledger: Ledger,
    callback_answers: Vec<CallbackAnswer>,
    script: Script,
    logged_in: bool,
    next_stan: u32,
    next_link: u64,
    requests_seen: u64,
    job: Option<Job>,
    pins: Vec<String>,
    held_logins: Vec<(SimLink, Message, bool)>,
    transmits: VecDeque<SimTransmit>,
    events: VecDeque<SimEvent>,
    anchor: (Instant, OffsetDateTime),
}

impl SimCore {
    /// A terminal at `now` (`wall` is the same moment on the wall clock).
    pub fn new(config: SimConfig, now: Instant, wall: OffsetDateTime) -> Self {
        Self {
            logged_in: !config.require_login,
            config,
            ledger: Ledger::default(),
            callback_answers: Vec::new(),
            script: Script::default(),
            next_stan: 1,
            next_link: 0,
            requests_seen: 0,
            job: None,
            pins: Vec::new(),
            held_logins: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            anchor: (now, wall),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Changes the settings from the next request on.
    pub fn set_config(&mut self, config: SimConfig) {
        self.config = config;
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Every DeviceResponse the POS sent for the terminal's callbacks, oldest first.
    pub fn callback_answers(&self) -> &[CallbackAnswer] {
        &self.callback_answers
    }

    /// Queues `scenario` for the next request `matching`.
    pub fn script(&mut self, matching: ScriptMatch, scenario: Scenario) {
        self.script.push(matching, scenario);
    }

    /// Forgets every queued scenario.
    pub fn clear_script(&mut self) {
        self.script.clear();
    }

    /// Whether a Login is in force.
    pub fn is_logged_in(&self) -> bool {
        self.logged_in
    }

    /// How many channel-0 requests arrived so far (aborts included).
    pub fn requests_seen(&self) -> u64 {
        self.requests_seen
    }

    /// Whether a request is being worked on.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// The next frame to write.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<SimTransmit> {
        self.transmits.pop_front()
    }

    /// The next connection to open or close.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SimEvent> {
        self.events.pop_front()
    }

    /// When [`SimCore::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.job.as_ref().and_then(|j| j.wait.deadline())
    }

    /// The POS connected on channel 0; returns the link's name.
    pub fn handle_accepted(&mut self) -> SimLink {
        self.next_link += 1;
        SimLink::Channel0(self.next_link)
    }

    /// A message arrived on `link`.
    pub fn handle_message(
        &mut self,
        link: SimLink,
        message: Message,
        now: Instant,
    ) -> Result<(), SimError> {
        if matches!(link, SimLink::Channel0(_)) {
            self.requests_seen += 1;
            self.ledger.note_received(link, &message);
        }
        let result = match (link, message) {
            (SimLink::Channel0(_), Message::CardServiceRequest(request)) => {
                self.on_card_request(link, request, now);
                Ok(())
            }
            (SimLink::Channel0(_), Message::ServiceRequest(request)) => {
                self.on_service_request(link, request, now);
                Ok(())
            }
            (SimLink::Channel1(_), Message::DeviceResponse(response)) => {
                self.on_device_response(link, response)
            }
            (link, message) => Err(SimError::Unexpected {
                link,
                got: session::describe(&message),
            }),
        };
        self.advance(now);
        result
    }

    /// A frame on `link` could not be read: channel 0 is closed, a channel-1 callback fails.
    pub fn handle_malformed(&mut self, link: SimLink, reason: &str, now: Instant) -> SimError {
        self.events.push_back(SimEvent::Close(link));
        self.handle_closed(link, now);
        SimError::Malformed {
            link,
            reason: reason.to_owned(),
        }
    }

    /// A well-formed frame on `link` that is not a valid message: a channel-0 request is
    /// answered `FormatError` with its ids (as a terminal answers what it cannot handle); anything
    /// else is as unreadable as a malformed frame.
    pub fn handle_undecodable(
        &mut self,
        link: SimLink,
        envelope: &Envelope,
        reason: &str,
        now: Instant,
    ) -> SimError {
        let header = envelope.header.as_ref().map(Header::echo);
        let request_type = envelope.request_type.as_deref().unwrap_or("");
        let answer: Option<Message> = match (link, header) {
            (SimLink::Channel0(_), Some(header)) if envelope.is("CardServiceRequest") => {
                let result = OverallResult::FormatError;
                let request_type = CardRequestType::parse(request_type);
                Some(CardServiceResponse::new(header, request_type, result).into())
            }
            (SimLink::Channel0(_), Some(header)) if envelope.is("ServiceRequest") => {
                let result = OverallResult::FormatError;
                let request_type = ServiceRequestType::parse(request_type);
                Some(ServiceResponse::new(header, request_type, result).into())
            }
            _ => None,
        };
        let Some(answer) = answer else {
            return self.handle_malformed(link, reason, now);
        };
        self.requests_seen += 1;
        self.ledger
            .note_undecodable(link, answer.request_id().as_str(), request_type);
        self.transmit(link, answer, Scenario::Approve);
        SimError::Undecodable {
            link,
            reason: reason.to_owned(),
        }
    }

    /// A channel-1 connection asked for with [`SimEvent::Connect`] is open.
    pub fn handle_connected(&mut self, link: SimLink, now: Instant) {
        let timeouts = self.callback_timeouts();
        let Some(job) = self.job.as_mut() else {
            self.events.push_back(SimEvent::Close(link));
            return;
        };
        match std::mem::replace(&mut job.wait, Wait::Nothing) {
            Wait::Connection {
                link: waiting,
                request,
                kind,
            } if waiting == link => {
                if let Some((shared, connected)) = job.callback_link.as_mut() {
                    *connected |= *shared == link;
                }
                job.wait = Wait::Answer {
                    link,
                    header: Box::new(request.header.clone()),
                    kind,
                    deadline: now + timeouts.for_kind(kind),
                    resend: None,
                };
                self.transmits.push_back(SimTransmit {
                    link,
                    payload: callback_payload(job, *request),
                });
            }
            other => {
                job.wait = other;
                self.events.push_back(SimEvent::Close(link));
            }
        }
    }

    /// A channel-1 connection could not be opened.
    pub fn handle_connect_failed(&mut self, link: SimLink, now: Instant) {
        self.handle_closed(link, now);
    }

    /// The peer closed `link`, or it failed.
    pub fn handle_closed(&mut self, link: SimLink, now: Instant) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        if job.link == Some(link) {
            // The POS is gone; the terminal finishes the job anyway (its ledger is the truth).
            job.link = None;
        }
        if job.callback_link.is_some_and(|(l, _)| l == link) {
            job.callback_link = None;
        }
        match std::mem::replace(&mut job.wait, Wait::Nothing) {
            Wait::Answer {
                link: l,
                kind,
                resend: Some(request),
                ..
            } if l == link => {
                // The POS closed the shared connection after its last answer: reconnect.
                self.next_link += 1;
                let fresh = SimLink::Channel1(self.next_link);
                job.callback_link = Some((fresh, false));
                self.events.push_back(SimEvent::Connect(fresh));
                job.wait = Wait::Connection {
                    link: fresh,
                    request,
                    kind,
                };
            }
            Wait::Connection { link: l, kind, .. } | Wait::Answer { link: l, kind, .. }
                if l == link =>
            {
                callback_failed(job, kind);
            }
            other => job.wait = other,
        }
        self.advance(now);
    }

    /// Time has reached `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        match &job.wait {
            Wait::Until(at) if *at <= now => job.wait = Wait::Nothing,
            Wait::Card(at) if *at <= now => {
                job.wait = Wait::Nothing;
                job.decision = Decision::Abort;
            }
            Wait::Answer {
                link,
                kind,
                deadline,
                ..
            } if *deadline <= now => {
                let (link, kind) = (*link, *kind);
                job.wait = Wait::Nothing;
                if job.callback_link.is_some_and(|(l, _)| l == link) {
                    job.callback_link = None;
                }
                self.events.push_back(SimEvent::Close(link));
                callback_failed(job, kind);
            }
            _ => return,
        }
        self.advance(now);
    }

    fn choose(
        &mut self,
        request_type: &str,
        financial: bool,
        amount_minor: Option<i64>,
    ) -> Scenario {
        if let Some(scenario) = self.script.take(request_type, financial) {
            return scenario;
        }
        if !financial {
            return Scenario::Approve;
        }
        if self.config.magic_amounts {
            let magic = amount_minor.map_or(Scenario::Approve, Scenario::for_amount_minor);
            if magic != Scenario::Approve {
                return magic;
            }
        }
        self.config.default_scenario
    }

    /// The immediate answer of a refusing scenario (LoggedOut also ends the session).
    fn refusal(
        &mut self,
        scenario: Scenario,
        answer: &dyn Fn(OverallResult) -> Message,
    ) -> Option<Message> {
        let result = match scenario {
            Scenario::Busy => OverallResult::Busy,
            Scenario::DeviceUnavailable => OverallResult::DeviceUnavailable,
            Scenario::LoggedOut => {
                self.logged_in = false;
                OverallResult::LoggedOut
            }
            _ => return None,
        };
        Some(answer(result))
    }

    /// Sends an answer decided at once, with the scenario's faults, after the configured
    /// latency (during which the terminal is busy).
    fn send(&mut self, link: SimLink, message: Message, scenario: Scenario) {
        if self.job.is_none() && !self.config.latency.is_zero() {
            let end = if scenario == Scenario::DropBeforeResponse {
                Step::Drop
            } else {
                Step::Respond
            };
            let steps = vec![Step::Pause(self.config.latency), end];
            let style = self.callback_style(scenario);
            self.job = Some(Job::new(
                JobKind::Reply(Box::new(message)),
                link,
                scenario,
                style,
                steps,
            ));
            return;
        }
        if scenario == Scenario::DropBeforeResponse {
            self.events.push_back(SimEvent::Close(link));
            return;
        }
        self.transmit(link, message, scenario);
    }

    fn transmit(&mut self, link: SimLink, message: Message, scenario: Scenario) {
        let payload = match scenario {
            Scenario::Garbage => Payload::Garbage,
            Scenario::Oversize => Payload::Oversize,
            _ => {
                let mut style = self.callback_style(scenario);
                style.char_count_prefix = scenario == Scenario::CharCountPrefix;
                Payload::Message(Box::new(message), style)
            }
        };
        self.transmits.push_back(SimTransmit { link, payload });
    }

    fn callback_style(&self, scenario: Scenario) -> WireStyle {
        let mut style = WireStyle::strict(self.config.encoding);
        match scenario {
            Scenario::Latin1 => style.encoding = WireEncoding::Latin1,
            Scenario::NoNamespace => style.namespace = false,
            _ => {}
        }
        style
    }

    fn terminal_info(&self) -> TerminalInfo {
        TerminalInfo {
            terminal_id: Some(self.config.terminal_id.clone()),
            ..TerminalInfo::default()
        }
    }

    fn callback_timeouts(&self) -> CallbackTimeouts {
        CallbackTimeouts {
            output: self.config.callback_timeout,
            input: self.config.input_timeout + self.config.callback_timeout,
        }
    }

    fn wall_at(&self, now: Instant) -> OffsetDateTime {
        let (at, wall) = self.anchor;
        wall + time::Duration::try_from(now.saturating_duration_since(at))
            .unwrap_or(time::Duration::ZERO)
    }
}
