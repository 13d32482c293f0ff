//! One request to a terminal, from connecting to its answer, as a state machine.
//!
//! States are named for what they wait for: [`State::ExpectConnection`] → [`State::ExpectSendPermission`]
//! (the observer's `before_send`) → [`State::ExpectWritten`] → [`State::ExpectResponse`] → done.
//! Until the first byte is written the outcome can only be "not sent"; after it, only an answer
//! or "lost" (research notes §5.4: never an inferred decline). An abort runs beside the request on
//! its own link (or on the request's socket, per profile) and its acknowledgement is not the
//! outcome (§5.3).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use eps_core::prompt::PromptAnswer;
use eps_core::terminal::{TerminalError, TerminalResult};
use time::OffsetDateTime;

use super::callback::{self, input_request, input_response, output_response, plain_response};
use super::outcome::{Answer, terminal_result};
use super::request::{Identity, Limits, Operation, abort_message};
use super::timer::{TimerKind, Timers};
use super::{Event, Finished, InputKey, Link, SessionError, Transmit, describe};
use crate::codec::Envelope;
use crate::message::{
    CardRequestType, DeviceRequest, DeviceRequestType, EventType, Message, OverallResult,
    RequestId, ServiceRequestType,
};
use crate::profile::{AbortPlacement, TerminalProfile};

mod device;

use device::belongs_to;
pub(crate) use device::unowned_response;

/// What the request waits for.
#[derive(Debug)]
enum State {
    /// The channel-0 connection.
    ExpectConnection(Message),
    /// The observer's permission to send (it makes the request durable first).
    ExpectSendPermission(Message),
    /// The driver's word that the whole request is written.
    ExpectWritten,
    /// The terminal's answer, with callbacks meanwhile.
    ExpectResponse,
    /// Nothing: the outcome is out.
    Finished,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            Self::ExpectConnection(_) => "ExpectConnection",
            Self::ExpectSendPermission(_) => "ExpectSendPermission",
            Self::ExpectWritten => "ExpectWritten",
            Self::ExpectResponse => "ExpectResponse",
            Self::Finished => "Finished",
        }
    }

    /// Whether a byte of the request may have been written.
    fn maybe_sent(&self) -> bool {
        matches!(self, Self::ExpectWritten | Self::ExpectResponse)
    }
}

/// Where the abort stands.
#[derive(Debug)]
enum AbortState {
    Idle,
    /// Waiting for the abort's own connection.
    ExpectConnection(RequestId),
    /// The AbortRequest is on `link`; waiting for its acknowledgement.
    ExpectAnswer(RequestId, Link),
}

/// An Input waiting for the cashier.
#[derive(Debug)]
struct PendingInput {
    key: InputKey,
    link: Link,
    request: DeviceRequest,
    deadline: Instant,
}

/// One request to a terminal with its callbacks, abort and timers; see the module doc.
#[derive(Debug)]
pub struct Conversation {
    id: RequestId,
    operation: Operation,
    identity: Identity,
    profile: Arc<TerminalProfile>,
    limits: Limits,
    state: State,
    abort: AbortState,
    timers: Timers,
    inputs: Vec<PendingInput>,
    next_input: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    anchor: (Instant, OffsetDateTime),
}

impl Conversation {
    /// Starts a conversation at `now` (`wall` is the same moment on the wall clock, for the
    /// request's time stamps); the first event asks for the channel-0 connection.
    pub fn new(
        id: RequestId,
        operation: Operation,
        identity: Identity,
        profile: Arc<TerminalProfile>,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<Self, SessionError> {
        let request = operation.to_message(&id, &identity, &profile, wall)?;
        let limits = operation.limits(&profile);
        let mut timers = Timers::default();
        timers.arm(TimerKind::Connect, now, profile.timers.connect);
        Ok(Self {
            id,
            operation,
            identity,
            profile,
            limits,
            state: State::ExpectConnection(request),
            abort: AbortState::Idle,
            timers,
            inputs: Vec::new(),
            next_input: 0,
            transmits: VecDeque::new(),
            events: VecDeque::from([Event::Connect(Link::Request)]),
            anchor: (now, wall),
        })
    }

    /// The request's `RequestID`.
    pub fn request_id(&self) -> &RequestId {
        &self.id
    }

    /// What is asked.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// The `RequestType` it is asked as (the profile names the reversals).
    pub fn request_type(&self) -> &str {
        self.operation.request_type(&self.profile)
    }

    /// True once the outcome is out and no abort is still running.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Finished) && matches!(self.abort, AbortState::Idle)
    }

    /// The next message to write.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing for the driver to do or pass on.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Conversation::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let inputs = self.inputs.iter().map(|i| i.deadline).min();
        match (self.timers.next(), inputs) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A channel-0 connection asked for with [`Event::Connect`] is open.
    pub fn handle_connected(&mut self, link: Link, now: Instant) -> Result<(), SessionError> {
        match (link, &self.abort) {
            (Link::Request, _) if matches!(self.state, State::ExpectConnection(_)) => {
                let State::ExpectConnection(request) =
                    std::mem::replace(&mut self.state, State::ExpectWritten)
                else {
                    return Err(self.unexpected(link, "a connection".into()));
                };
                self.timers.disarm(TimerKind::Connect);
                self.state = State::ExpectSendPermission(request);
                self.events.push_back(Event::BeforeSend);
                Ok(())
            }
            (Link::Abort, AbortState::ExpectConnection(id)) => {
                let id = id.clone();
                let message = abort_message(&id, &self.identity, self.wall_at(now))?;
                self.transmits.push_back(Transmit {
                    link: Link::Abort,
                    message,
                });
                self.abort = AbortState::ExpectAnswer(id, Link::Abort);
                Ok(())
            }
            _ => Err(self.unexpected(link, "a connection".into())),
        }
    }

    /// A channel-0 connection asked for with [`Event::Connect`] could not be opened.
    pub fn handle_connect_failed(&mut self, link: Link, reason: &str, _now: Instant) {
        match link {
            Link::Request if matches!(self.state, State::ExpectConnection(_)) => {
                self.finish(Finished::NotSent {
                    reason: format!("cannot connect to the terminal: {reason}"),
                });
            }
            Link::Abort if matches!(self.abort, AbortState::ExpectConnection(_)) => {
                self.abort_answered(Err(TerminalError::Unreachable(reason.to_owned())));
            }
            _ => {}
        }
    }

    /// The observer's `before_send` answered: `Ok` to send, `Err(reason)` to give up unsent.
    pub fn handle_send_permission(
        &mut self,
        permission: Result<(), String>,
        now: Instant,
    ) -> Result<(), SessionError> {
        if !matches!(self.state, State::ExpectSendPermission(_)) {
            return Err(self.unexpected(Link::Request, "a send permission".into()));
        }
        let State::ExpectSendPermission(request) =
            std::mem::replace(&mut self.state, State::ExpectWritten)
        else {
            return Err(self.unexpected(Link::Request, "a send permission".into()));
        };
        match permission {
            Ok(()) => {
                self.transmits.push_back(Transmit {
                    link: Link::Request,
                    message: request,
                });
                self.timers.arm(TimerKind::Idle, now, self.limits.idle);
                self.timers.arm(TimerKind::HardCap, now, self.limits.cap);
            }
            Err(reason) => {
                self.state = State::ExpectSendPermission(request);
                self.finish(Finished::NotSent {
                    reason: format!("not sent: {reason}"),
                });
            }
        }
        Ok(())
    }

    /// Everything queued for `link` so far is written.
    pub fn handle_written(&mut self, link: Link, now: Instant) {
        if link == Link::Request && matches!(self.state, State::ExpectWritten) {
            self.state = State::ExpectResponse;
            self.events.push_back(Event::Sent);
            if self.inputs.is_empty() {
                self.timers.arm(TimerKind::Idle, now, self.limits.idle);
            }
        }
    }

    /// Writing to `link` failed after `written` bytes of the current message.
    pub fn handle_write_failed(&mut self, link: Link, written: usize, reason: &str, _now: Instant) {
        match link {
            Link::Request if matches!(self.state, State::ExpectWritten) && written == 0 => {
                self.finish(Finished::NotSent {
                    reason: format!("writing the request failed before its first byte: {reason}"),
                });
            }
            Link::Request if self.state.maybe_sent() => self.finish(Finished::Lost {
                reason: format!("writing to the terminal failed: {reason}"),
            }),
            Link::Request => self.abort_failed_on(Link::Request, reason),
            Link::Abort => {
                if matches!(self.abort, AbortState::ExpectAnswer(_, Link::Abort)) {
                    self.abort_answered(Err(if written == 0 {
                        TerminalError::Unreachable(reason.to_owned())
                    } else {
                        TerminalError::Lost(reason.to_owned())
                    }));
                }
            }
            Link::Callback(_) => self.withdraw_inputs_on(link),
        }
    }

    /// The peer closed `link`, or reading it failed.
    pub fn handle_closed(&mut self, link: Link, _now: Instant) {
        match link {
            Link::Request => match self.state {
                State::ExpectConnection(_) | State::ExpectSendPermission(_) => {
                    self.finish(Finished::NotSent {
                        reason: "the terminal closed the connection before the request was sent"
                            .to_owned(),
                    });
                }
                State::ExpectWritten | State::ExpectResponse => self.finish(Finished::Lost {
                    reason: "the terminal closed the connection before answering".to_owned(),
                }),
                State::Finished => self.abort_failed_on(Link::Request, "connection closed"),
            },
            Link::Abort => self.abort_failed_on(Link::Abort, "connection closed"),
            Link::Callback(_) => self.withdraw_inputs_on(link),
        }
    }

    /// A frame on `link` could not be read.
    pub fn handle_malformed(&mut self, link: Link, reason: &str, _now: Instant) -> SessionError {
        match link {
            Link::Request if self.state.maybe_sent() => self.finish(Finished::Lost {
                reason: format!("unreadable answer from the terminal: {reason}"),
            }),
            Link::Request | Link::Abort => self.abort_failed_on(link, reason),
            Link::Callback(_) => {
                self.withdraw_inputs_on(link);
                self.events.push_back(Event::Close(link));
            }
        }
        SessionError::Malformed {
            link,
            reason: reason.to_owned(),
        }
    }

    /// A well-formed frame on `link` that is not a valid message (`envelope` is its root).
    ///
    /// A DeviceRequest on a callback link is answered `FormatError` with its ids, never left
    /// unanswered (the terminal blocks until it is); when it names this request, the terminal is
    /// alive, so the idle timer restarts. Anything else is as unreadable as a malformed frame.
    pub fn handle_undecodable(
        &mut self,
        link: Link,
        envelope: &Envelope,
        reason: &str,
        now: Instant,
    ) -> SessionError {
        let answer = match link {
            Link::Callback(_) => {
                callback::format_error_response(envelope, &self.identity.application_sender)
            }
            Link::Request | Link::Abort => None,
        };
        let Some(response) = answer else {
            return self.handle_malformed(link, reason, now);
        };
        let ours = self.state.maybe_sent() && belongs_to(&response.header.request_id, &self.id);
        let request_type = response.request_type.as_str().to_owned();
        self.transmits.push_back(Transmit {
            link,
            message: response.into(),
        });
        if ours && self.inputs.is_empty() {
            self.timers.arm(TimerKind::Idle, now, self.limits.idle);
        }
        SessionError::Undecodable {
            link,
            request_type,
            reason: reason.to_owned(),
        }
    }

    /// A message arrived on `link`.
    ///
    /// An `Err` is never a silent drop: on channel 0 it has ended the request (lost), and a
    /// channel-1 request that is not this conversation's has still been answered.
    pub fn handle_message(
        &mut self,
        link: Link,
        message: Message,
        now: Instant,
    ) -> Result<(), SessionError> {
        match (link, message) {
            (Link::Callback(_), Message::DeviceRequest(request)) => {
                self.on_device_request(link, request, now)
            }
            (Link::Request | Link::Abort, message) if self.is_abort_answer(link, &message) => {
                let result = message
                    .overall_result()
                    .cloned()
                    .unwrap_or(OverallResult::Failure);
                self.abort_answered(match terminal_result(&result) {
                    TerminalResult::Success => Ok(()),
                    TerminalResult::Busy => Err(TerminalError::Busy),
                    other => Err(TerminalError::Refused(other)),
                });
                Ok(())
            }
            (Link::Request, message) if self.state.maybe_sent() => {
                let answer = self.our_answer(message);
                if matches!(self.state, State::ExpectWritten) {
                    // The answer proves the request went out whole.
                    self.events.push_back(Event::Sent);
                }
                match answer {
                    Ok(answer) => {
                        self.finish(Finished::Answered(answer));
                        Ok(())
                    }
                    Err(got) => {
                        let error = self.unexpected(link, got.clone());
                        self.finish(Finished::Lost {
                            reason: format!("the terminal answered something else: {got}"),
                        });
                        Err(error)
                    }
                }
            }
            (link, message) => Err(self.unexpected(link, describe(&message))),
        }
    }

    /// The cashier's answer to an Input (`None`: no answer, send the profile's default).
    pub fn handle_input_answer(
        &mut self,
        key: InputKey,
        answer: Option<PromptAnswer>,
        now: Instant,
    ) -> Result<(), SessionError> {
        let index = self
            .inputs
            .iter()
            .position(|i| i.key == key)
            .ok_or(SessionError::UnknownInput(key))?;
        let input = self.inputs.swap_remove(index);
        self.answer_input(input, answer, now);
        Ok(())
    }

    /// The caller wants the request aborted; `abort_id` is the AbortRequest's own RequestID.
    pub fn handle_abort(&mut self, abort_id: RequestId, now: Instant) -> Result<(), SessionError> {
        if !matches!(self.abort, AbortState::Idle) {
            return Err(SessionError::AbortInProgress);
        }
        match self.state {
            State::ExpectConnection(_) | State::ExpectSendPermission(_) => {
                self.finish(Finished::NotSent {
                    reason: "aborted before the request was sent".to_owned(),
                });
                self.events.push_back(Event::AbortAnswered(Ok(())));
                Ok(())
            }
            State::ExpectWritten | State::ExpectResponse => {
                self.timers
                    .arm(TimerKind::Abort, now, self.profile.timers.abort);
                match self.profile.abort {
                    AbortPlacement::NewConnection => {
                        self.abort = AbortState::ExpectConnection(abort_id);
                        self.events.push_back(Event::Connect(Link::Abort));
                    }
                    AbortPlacement::SameConnection => {
                        let message = abort_message(&abort_id, &self.identity, self.wall_at(now))?;
                        self.transmits.push_back(Transmit {
                            link: Link::Request,
                            message,
                        });
                        self.abort = AbortState::ExpectAnswer(abort_id, Link::Request);
                    }
                }
                Ok(())
            }
            State::Finished => Err(SessionError::NothingToAbort("the request already ended")),
        }
    }

    /// Time has reached `now`: fire every expired timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(kind) = self.timers.pop_expired(now) {
            match kind {
                TimerKind::Connect => self.finish(Finished::NotSent {
                    reason: format!(
                        "cannot connect to the terminal: no connection within {:?}",
                        self.profile.timers.connect
                    ),
                }),
                TimerKind::Idle if self.state.maybe_sent() => self.finish(Finished::Lost {
                    reason: format!("no answer and no callback for {:?}", self.limits.idle),
                }),
                TimerKind::HardCap if self.state.maybe_sent() => self.finish(Finished::Lost {
                    reason: format!("no answer within {:?}", self.limits.cap),
                }),
                TimerKind::Abort => self.abort_answered(Err(TerminalError::Lost(format!(
                    "no answer to the AbortRequest within {:?}",
                    self.profile.timers.abort
                )))),
                TimerKind::Idle | TimerKind::HardCap => {}
            }
        }
        while let Some(index) = self.inputs.iter().position(|i| i.deadline <= now) {
            let input = self.inputs.swap_remove(index);
            self.events.push_back(Event::InputWithdrawn(input.key));
            self.answer_input(input, None, now);
        }
    }

    fn is_abort_answer(&self, link: Link, message: &Message) -> bool {
        let AbortState::ExpectAnswer(id, abort_link) = &self.abort else {
            return false;
        };
        let is_abort_type = match message {
            Message::CardServiceResponse(r) => r.request_type == CardRequestType::AbortRequest,
            Message::ServiceResponse(r) => r.request_type == ServiceRequestType::AbortRequest,
            _ => false,
        };
        *abort_link == link && is_abort_type && message.request_id() == id
    }

    /// The answer to this conversation's request, or a description of what came instead.
    fn our_answer(&self, message: Message) -> Result<Answer, String> {
        let fits = |id: &RequestId, request_type: &str| {
            *id == self.id && request_type.eq_ignore_ascii_case(self.request_type())
        };
        match message {
            Message::CardServiceResponse(r)
                if self.operation.is_card_service()
                    && fits(&r.header.request_id, r.request_type.as_str()) =>
            {
                Ok(Answer::Card(Box::new(r)))
            }
            Message::ServiceResponse(r)
                if !self.operation.is_card_service()
                    && fits(&r.header.request_id, r.request_type.as_str()) =>
            {
                Ok(Answer::Service(Box::new(r)))
            }
            other => Err(describe(&other)),
        }
    }

    fn abort_failed_on(&mut self, link: Link, reason: &str) {
        if matches!(&self.abort, AbortState::ExpectAnswer(_, l) if *l == link) {
            self.abort_answered(Err(TerminalError::Lost(format!(
                "no answer to the AbortRequest: {reason}"
            ))));
        }
    }

    fn abort_answered(&mut self, result: Result<(), TerminalError>) {
        let link = match std::mem::replace(&mut self.abort, AbortState::Idle) {
            AbortState::Idle => return,
            AbortState::ExpectConnection(_) => Link::Abort,
            AbortState::ExpectAnswer(_, link) => link,
        };
        self.timers.disarm(TimerKind::Abort);
        self.events.push_back(Event::AbortAnswered(result));
        if link == Link::Abort || matches!(self.state, State::Finished) {
            self.events.push_back(Event::Close(link));
        }
    }

    fn finish(&mut self, outcome: Finished) {
        if matches!(self.state, State::Finished) {
            return;
        }
        self.state = State::Finished;
        for kind in [TimerKind::Connect, TimerKind::Idle, TimerKind::HardCap] {
            self.timers.disarm(kind);
        }
        let withdrawn: Vec<_> = self.inputs.drain(..).map(|i| i.key).collect();
        self.events
            .extend(withdrawn.into_iter().map(Event::InputWithdrawn));
        if let AbortState::ExpectConnection(_) = self.abort {
            self.abort_answered(Err(TerminalError::Protocol(
                "the request ended before the AbortRequest was sent".to_owned(),
            )));
        }
        let abort_on_request = matches!(self.abort, AbortState::ExpectAnswer(_, Link::Request));
        if !abort_on_request {
            self.events.push_back(Event::Close(Link::Request));
        }
        self.events.push_back(Event::Finished(outcome));
    }

    fn unexpected(&self, link: Link, got: String) -> SessionError {
        SessionError::Unexpected {
            state: self.state.name(),
            link,
            got,
        }
    }

    fn wall_at(&self, now: Instant) -> OffsetDateTime {
        let (at, wall) = self.anchor;
        let elapsed = now.saturating_duration_since(at);
        wall + time::Duration::try_from(elapsed).unwrap_or(time::Duration::ZERO)
    }
}
