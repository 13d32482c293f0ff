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
use super::ledger::{Ledger, LedgerEntry};
use super::scenario::Script;
use super::wire::{Payload, WireStyle};
use super::{Scenario, ScriptMatch, SimError, SimEvent, SimLink, SimTransmit};
use crate::message::{
    Authorisation, CardRequestType, CardServiceRequest, CardServiceResponse, DeviceRequest,
    DeviceRequestType, DeviceResponse, DeviceTarget, Header, Input, InputCommand, InputCommandKind,
    InputValue, Message, MonetaryAmount, OriginalHeader, Output, OverallResult, Reconciliation,
    ReconciliationTotal, RequestId, ServiceRequest, ServiceRequestType, ServiceResponse,
    TerminalInfo, TextLine, Timestamp,
};
use crate::profile::WireEncoding;
use crate::session;

/// The simulated terminal; see the module doc.
#[derive(Debug)]
pub struct SimCore {
    config: SimConfig,
    ledger: Ledger,
    script: Script,
    logged_in: bool,
    next_stan: u32,
    next_link: u64,
    requests_seen: u64,
    job: Option<Job>,
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
            script: Script::default(),
            next_stan: 1,
            next_link: 0,
            requests_seen: 0,
            job: None,
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
                };
                self.transmits.push_back(SimTransmit {
                    link,
                    payload: Payload::Message(Box::new((*request).into()), job.style),
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
        let failed = match &job.wait {
            Wait::Connection { link: l, kind, .. } | Wait::Answer { link: l, kind, .. }
                if *l == link =>
            {
                Some(*kind)
            }
            _ => None,
        };
        if let Some(kind) = failed {
            job.wait = Wait::Nothing;
            callback_failed(job, kind);
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

    fn on_card_request(&mut self, link: SimLink, request: CardServiceRequest, now: Instant) {
        let request_type = request.request_type.clone();
        if request_type == CardRequestType::AbortRequest {
            let header = request.header.echo();
            let ack = |result| {
                Message::from(CardServiceResponse::new(
                    header.clone(),
                    CardRequestType::AbortRequest,
                    result,
                ))
            };
            self.on_abort(link, ack);
            return;
        }
        let info = self.terminal_info();
        let refuse = |result: OverallResult| {
            let mut response =
                CardServiceResponse::new(request.header.echo(), request_type.clone(), result);
            response.terminal = Some(info.clone());
            Message::from(response)
        };
        if self.job.is_some() {
            let busy = refuse(OverallResult::Busy);
            self.send(link, busy, Scenario::Approve);
            return;
        }
        if !self.logged_in {
            let logged_out = refuse(OverallResult::LoggedOut);
            self.send(link, logged_out, Scenario::Approve);
            return;
        }
        let financial = matches!(
            request_type,
            CardRequestType::CardPayment
                | CardRequestType::PaymentRefund
                | CardRequestType::PaymentReversal
                | CardRequestType::CardPreAuthorisation
                | CardRequestType::CardFinancialAdvice
        );
        let amount = request
            .total_amount
            .as_ref()
            .and_then(|t| t.amount.amount_or_in(self.config.currency));
        let scenario = self.choose(request_type.as_str(), financial, amount.map(|a| a.minor()));
        if let Some(message) = self.refusal(scenario, &refuse) {
            self.send(link, message, Scenario::Approve);
            return;
        }
        if scenario == Scenario::DropAfterRequest {
            self.events.push_back(SimEvent::Close(link));
            return;
        }
        let end = if scenario == Scenario::DropBeforeResponse {
            Step::Drop
        } else {
            Step::Respond
        };
        let style = self.callback_style(scenario);
        match request_type {
            _ if financial => {
                let steps =
                    Job::financial_steps(scenario, self.config.latency, self.config.display);
                self.job = Some(Job::new(
                    JobKind::Financial(request),
                    link,
                    scenario,
                    style,
                    steps,
                ));
            }
            CardRequestType::TicketReprint => match self.ledger.last() {
                Some(last) => {
                    let steps = vec![
                        Step::Pause(self.config.latency),
                        Step::Print(last.receipts.clone()),
                        end,
                    ];
                    self.job = Some(Job::new(
                        JobKind::Reprint(request),
                        link,
                        scenario,
                        style,
                        steps,
                    ));
                }
                None => {
                    let failure = refuse(OverallResult::Failure);
                    self.send(link, failure, scenario);
                }
            },
            CardRequestType::RepeatLastMessage => {
                let answer = self.repeat_last(&request.header, now);
                self.send(link, answer.into(), scenario);
            }
            _ => {
                let unsupported = refuse(OverallResult::NotSupported);
                self.send(link, unsupported, scenario);
            }
        }
    }

    fn on_service_request(&mut self, link: SimLink, request: ServiceRequest, now: Instant) {
        use ServiceRequestType as T;
        let request_type = request.request_type.clone();
        if request_type == T::AbortRequest {
            let header = request.header.echo();
            let ack = |result| {
                Message::from(ServiceResponse::new(
                    header.clone(),
                    T::AbortRequest,
                    result,
                ))
            };
            self.on_abort(link, ack);
            return;
        }
        let info = self.terminal_info();
        let answer = |result: OverallResult| {
            let mut response =
                ServiceResponse::new(request.header.echo(), request_type.clone(), result);
            response.terminal = Some(info.clone());
            response
        };
        if self.job.is_some() {
            let busy = answer(OverallResult::Busy);
            self.send(link, busy.into(), Scenario::Approve);
            return;
        }
        let session = matches!(
            request_type,
            T::Login | T::ActivateTerminal | T::Logoff | T::DeactivateTerminal
        );
        if !self.logged_in && !session {
            let logged_out = answer(OverallResult::LoggedOut);
            self.send(link, logged_out.into(), Scenario::Approve);
            return;
        }
        let scenario = self.choose(request_type.as_str(), false, None);
        if let Some(message) = self.refusal(scenario, &|r| answer(r).into()) {
            self.send(link, message, Scenario::Approve);
            return;
        }
        if scenario == Scenario::DropAfterRequest {
            self.events.push_back(SimEvent::Close(link));
            return;
        }
        let result = if scenario == Scenario::Decline {
            OverallResult::Failure
        } else {
            OverallResult::Success
        };
        match request_type {
            T::Login | T::ActivateTerminal => {
                self.logged_in |= result == OverallResult::Success;
                let response = answer(result);
                self.send(link, response.into(), scenario);
            }
            T::Logoff | T::DeactivateTerminal => {
                self.logged_in = false;
                let response = answer(result);
                self.send(link, response.into(), scenario);
            }
            T::Diagnosis | T::StatusQuery => {
                let response = answer(result);
                self.send(link, response.into(), scenario);
            }
            T::Reconciliation | T::ReconciliationWithClosure | T::CloseDay => {
                let closure = request_type != T::Reconciliation;
                let report = self.report_output(closure);
                let end = if scenario == Scenario::DropBeforeResponse {
                    Step::Drop
                } else {
                    Step::Respond
                };
                let steps = vec![
                    Step::Pause(self.config.latency),
                    Step::Print(vec![report]),
                    end,
                ];
                let style = self.callback_style(scenario);
                self.job = Some(Job::new(
                    JobKind::Reconciliation(request, closure),
                    link,
                    scenario,
                    style,
                    steps,
                ));
            }
            T::RepeatLastMessage => {
                let card = self.repeat_last(&request.header, now);
                let mut response = answer(card.overall_result.clone());
                response.original_header = card.original_header;
                self.send(link, response.into(), scenario);
            }
            _ => {
                let response = answer(OverallResult::NotSupported);
                self.send(link, response.into(), scenario);
            }
        }
    }

    /// Answers an AbortRequest: a job not yet authorised ends `Aborted`; otherwise the abort
    /// fails and the job carries on.
    fn on_abort(&mut self, link: SimLink, ack: impl Fn(OverallResult) -> Message) {
        let abortable = self
            .job
            .as_ref()
            .is_some_and(|j| !j.authorised && matches!(j.kind, JobKind::Financial(_)));
        if !abortable {
            self.transmit(link, ack(OverallResult::Failure), Scenario::Approve);
            return;
        }
        self.transmit(link, ack(OverallResult::Success), Scenario::Approve);
        let Some(job) = self.job.as_mut() else {
            return;
        };
        if let Wait::Connection { link: cb, .. } | Wait::Answer { link: cb, .. } = &job.wait {
            self.events.push_back(SimEvent::Close(*cb));
            if job.callback_link.is_some_and(|(l, _)| l == *cb) {
                job.callback_link = None;
            }
        }
        job.wait = Wait::Nothing;
        job.decision = Decision::Abort;
        job.steps = VecDeque::from([Step::Authorise, Step::Respond]);
    }

    fn on_device_response(
        &mut self,
        link: SimLink,
        response: DeviceResponse,
    ) -> Result<(), SimError> {
        let unexpected = || SimError::Unexpected {
            link,
            got: session::describe(&Message::DeviceResponse(response.clone())),
        };
        let Some(job) = self.job.as_mut() else {
            return Err(unexpected());
        };
        let Wait::Answer {
            link: waiting,
            header,
            kind,
            ..
        } = &job.wait
        else {
            return Err(unexpected());
        };
        if *waiting != link || response.header.request_id != header.request_id {
            return Err(unexpected());
        }
        let kind = *kind;
        job.wait = Wait::Nothing;
        let ok = response.overall_result == OverallResult::Success;
        match kind {
            CallbackKind::Display => {}
            CallbackKind::Receipt => job.receipts_failed |= !ok,
            CallbackKind::Confirm => {
                let yes = response
                    .input
                    .as_ref()
                    .is_some_and(|i| i.value == Some(InputValue::Boolean(true)));
                if !(ok && yes) {
                    job.decision = Decision::Abort;
                }
            }
        }
        if self.config.callbacks == CallbackMode::PerRequest {
            self.events.push_back(SimEvent::Close(link));
        }
        Ok(())
    }

    /// Runs steps until the job waits or ends.
    fn advance(&mut self, now: Instant) {
        while let Some(mut job) = self.job.take() {
            if !matches!(job.wait, Wait::Nothing) {
                self.job = Some(job);
                return;
            }
            let Some(step) = job.steps.pop_front() else {
                self.end_job(&job);
                return;
            };
            match step {
                Step::Pause(delay) => {
                    if !delay.is_zero() {
                        job.wait = Wait::Until(now + delay);
                    }
                }
                Step::Display(text) => {
                    let output = Output::lines(DeviceTarget::CashierDisplay, [TextLine::new(text)]);
                    let request = self.device_request(
                        &mut job,
                        DeviceRequestType::Output,
                        vec![output],
                        None,
                    );
                    job.steps
                        .push_front(Step::Callback(Box::new(request), CallbackKind::Display));
                }
                Step::Confirm => {
                    let prompt = Output::lines(
                        DeviceTarget::CashierDisplay,
                        [TextLine::new("Betrag bestaetigen?")],
                    );
                    let mut command = InputCommand::new(InputCommandKind::GetConfirmation);
                    command.timeout = u32::try_from(self.config.input_timeout.as_secs()).ok();
                    let input = Input {
                        target: DeviceTarget::CashierKeyboard,
                        command,
                    };
                    let request = self.device_request(
                        &mut job,
                        DeviceRequestType::Input,
                        vec![prompt],
                        Some(input),
                    );
                    job.steps
                        .push_front(Step::Callback(Box::new(request), CallbackKind::Confirm));
                }
                Step::AwaitCard => job.wait = Wait::Card(now + self.config.self_abort_after),
                Step::Authorise => self.authorise(&mut job, now),
                Step::Receipts => {
                    let receipts = job
                        .entry
                        .and_then(|i| self.ledger.entries().get(i))
                        .map(|e| e.receipts.clone())
                        .unwrap_or_default();
                    job.steps.push_front(Step::Print(receipts));
                }
                Step::Print(outputs) => {
                    for output in outputs.into_iter().rev() {
                        let request = self.device_request(
                            &mut job,
                            DeviceRequestType::Output,
                            vec![output],
                            None,
                        );
                        job.steps
                            .push_front(Step::Callback(Box::new(request), CallbackKind::Receipt));
                    }
                }
                Step::Callback(request, kind) => self.send_callback(&mut job, request, kind, now),
                Step::Drop => {
                    if let Some(link) = job.link {
                        self.events.push_back(SimEvent::Close(link));
                    }
                    self.end_job(&job);
                    return;
                }
                Step::Respond => {
                    self.respond(&mut job, now);
                    self.end_job(&job);
                    return;
                }
            }
            self.job = Some(job);
        }
    }

    fn end_job(&mut self, job: &Job) {
        if let Some((link, _)) = job.callback_link {
            self.events.push_back(SimEvent::Close(link));
        }
        self.job = None;
    }

    fn send_callback(
        &mut self,
        job: &mut Job,
        request: Box<DeviceRequest>,
        kind: CallbackKind,
        now: Instant,
    ) {
        if let (CallbackMode::Shared, Some((link, true))) =
            (self.config.callbacks, job.callback_link)
        {
            job.wait = Wait::Answer {
                link,
                header: Box::new(request.header.clone()),
                kind,
                deadline: now + self.callback_timeouts().for_kind(kind),
            };
            self.transmits.push_back(SimTransmit {
                link,
                payload: Payload::Message(Box::new((*request).into()), job.style),
            });
            return;
        }
        self.next_link += 1;
        let link = SimLink::Channel1(self.next_link);
        if self.config.callbacks == CallbackMode::Shared {
            job.callback_link = Some((link, false));
        }
        self.events.push_back(SimEvent::Connect(link));
        job.wait = Wait::Connection {
            link,
            request,
            kind,
        };
    }

    fn device_request(
        &self,
        job: &mut Job,
        request_type: DeviceRequestType,
        outputs: Vec<Output>,
        input: Option<Input>,
    ) -> DeviceRequest {
        job.sequence += 1;
        let origin = job.header();
        let request_id = match self.config.callback_ids {
            CallbackIds::SequenceId => origin.request_id.clone(),
            CallbackIds::Dotted => {
                RequestId::parse(&format!("{}.{}", origin.request_id, job.sequence))
                    .unwrap_or_else(|_| origin.request_id.clone())
            }
        };
        let mut header = Header::new(request_id, origin.workstation_id.clone());
        header.pop_id.clone_from(&origin.pop_id);
        header.application_sender = Some("opi-sim".to_owned());
        header.terminal_id = Some(self.config.terminal_id.clone());
        if self.config.callback_ids == CallbackIds::SequenceId {
            header.sequence_id = Some(job.sequence.to_string());
        }
        let mut request = DeviceRequest::new(header, request_type);
        request.outputs = outputs;
        request.input = input;
        request
    }

    /// Decides a financial request and records it; from here on an abort no longer aborts.
    fn authorise(&mut self, job: &mut Job, now: Instant) {
        job.authorised = true;
        let JobKind::Financial(request) = &job.kind else {
            return;
        };
        let amount = request
            .total_amount
            .as_ref()
            .and_then(|t| t.amount.amount_or_in(self.config.currency));
        let original_stan = request
            .original_transaction
            .as_ref()
            .and_then(|o| o.stan.clone());
        let mut error: Option<(&str, &str)> = None;
        let result = if job.decision == Decision::Abort {
            error = Some(("107", "Abbruch"));
            OverallResult::Aborted
        } else if job.scenario == Scenario::Decline {
            error = Some(("05", "Abgelehnt"));
            OverallResult::Failure
        } else {
            match self.apply_to_original(request, amount, original_stan.as_deref()) {
                Ok(()) => OverallResult::Success,
                Err(reason) => {
                    error = Some(("12", reason));
                    OverallResult::Failure
                }
            }
        };
        let stan = (result != OverallResult::Aborted).then(|| {
            let stan = self.next_stan;
            self.next_stan += 1;
            stan
        });
        if job.scenario == Scenario::CharCountPrefix && result == OverallResult::Success {
            // Non-ASCII text, so a character count differs from the byte count.
            error = Some(("0", "Zahlung erfolgt – Gebühr 0,00 €"));
        }
        let decided = Decided {
            header: request.header.echo(),
            request_type: request.request_type.clone(),
            result: result.clone(),
            amount,
            stan,
            error,
            at: self.wall_at(now),
        };
        let response = card::response(&self.config, &decided);
        let receipts = card::receipts(&self.config, &decided);
        let authorisation = response.authorisation();
        let entry = LedgerEntry {
            request_id: request.header.request_id.as_str().to_owned(),
            request_type: request.request_type.as_str().to_owned(),
            amount,
            result,
            stan: stan.map(|s| format!("{s:06}")),
            approval_code: authorisation.and_then(|a| a.approval_code.clone()),
            card_circuit: authorisation.and_then(|a| a.card_circuit.clone()),
            masked_pan: authorisation
                .and_then(|a| a.card_pan.as_ref())
                .map(|p| p.masked()),
            original_stan,
            reversed: false,
            refunded: false,
            completed: false,
            batch: None,
            receipts_delivered: false,
            receipts,
            response: Some(response),
        };
        job.entry = Some(self.ledger.push(entry));
    }

    /// Applies a reversal, refund or completion to the transaction it names.
    fn apply_to_original(
        &mut self,
        request: &CardServiceRequest,
        amount: Option<eps_core::money::Amount>,
        stan: Option<&str>,
    ) -> Result<(), &'static str> {
        match request.request_type {
            CardRequestType::PaymentReversal => {
                let index = self
                    .ledger
                    .find_original(stan, &["CardPayment", "CardFinancialAdvice"])
                    .ok_or("original transaction not found")?;
                let entry = self
                    .ledger
                    .entry_mut(index)
                    .ok_or("original transaction not found")?;
                if entry.reversed {
                    return Err("already reversed");
                }
                entry.reversed = true;
                Ok(())
            }
            CardRequestType::PaymentRefund => {
                if let Some(stan) = stan {
                    let index = self
                        .ledger
                        .find_original(Some(stan), &["CardPayment", "CardFinancialAdvice"])
                        .ok_or("original transaction not found")?;
                    if let Some(entry) = self.ledger.entry_mut(index) {
                        entry.refunded = true;
                    }
                }
                Ok(())
            }
            CardRequestType::CardFinancialAdvice => {
                let index = self
                    .ledger
                    .find_original(stan, &["CardPreAuthorisation"])
                    .ok_or("pre-authorisation not found")?;
                let entry = self
                    .ledger
                    .entry_mut(index)
                    .ok_or("pre-authorisation not found")?;
                if entry.completed || entry.reversed {
                    return Err("pre-authorisation already settled");
                }
                let within = match (amount, entry.amount) {
                    (Some(final_amount), Some(reserved)) => {
                        final_amount.currency() == reserved.currency()
                            && final_amount.minor() <= reserved.minor()
                    }
                    _ => false,
                };
                if !within {
                    return Err("amount above the pre-authorisation");
                }
                entry.completed = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn respond(&mut self, job: &mut Job, now: Instant) {
        let message: Message = match &job.kind {
            JobKind::Financial(request) => {
                let delivered = !job.receipts_failed && job.scenario != Scenario::PrintLastTicket;
                let Some(entry) = job.entry.and_then(|i| self.ledger.entry_mut(i)) else {
                    return;
                };
                entry.receipts_delivered = delivered && entry.result == OverallResult::Success;
                let mut response = entry.response.clone().unwrap_or_else(|| {
                    CardServiceResponse::new(
                        request.header.echo(),
                        request.request_type.clone(),
                        entry.result.clone(),
                    )
                });
                if entry.result == OverallResult::Success && !delivered {
                    response.overall_result = OverallResult::PrintLastTicket;
                }
                response.into()
            }
            JobKind::Reprint(request) => {
                let result = if job.receipts_failed {
                    OverallResult::Failure
                } else {
                    OverallResult::Success
                };
                let mut response = CardServiceResponse::new(
                    request.header.echo(),
                    request.request_type.clone(),
                    result,
                );
                response.terminal = Some(self.terminal_info());
                response.into()
            }
            JobKind::Reply(message) => (**message).clone(),
            JobKind::Reconciliation(request, closure) => {
                let currency = self.config.currency;
                let totals = self.ledger.open_totals(currency);
                let result = if job.scenario == Scenario::Decline {
                    OverallResult::Failure
                } else {
                    if *closure {
                        self.ledger.close_batch();
                    }
                    OverallResult::Success
                };
                let mut response = ServiceResponse::new(
                    request.header.echo(),
                    request.request_type.clone(),
                    result,
                );
                response.terminal = Some(self.terminal_info());
                response.authorisation = Some(Authorisation {
                    timestamp: Timestamp::from_datetime(self.wall_at(now)).ok(),
                    ..Authorisation::default()
                });
                response.reconciliation = Some(Reconciliation {
                    language_code: None,
                    totals: totals
                        .into_iter()
                        .map(|t| ReconciliationTotal {
                            amount: MonetaryAmount::Known(t.amount),
                            number_payments: Some(t.count),
                            payment_type: Some(t.payment_type.to_owned()),
                            card_circuit: Some(t.card_circuit),
                            acquirer: None,
                            number_held: None,
                            amount_held: None,
                        })
                        .collect(),
                });
                response.into()
            }
        };
        if let Some(link) = job.link {
            self.transmit(link, message, job.scenario);
        }
    }

    fn repeat_last(&self, header: &Header, _now: Instant) -> CardServiceResponse {
        let Some(entry) = self.ledger.last() else {
            let mut response = CardServiceResponse::new(
                header.echo(),
                CardRequestType::RepeatLastMessage,
                OverallResult::Failure,
            );
            response.terminal = Some(self.terminal_info());
            return response;
        };
        let mut response = entry.response.clone().unwrap_or_else(|| {
            CardServiceResponse::new(
                header.echo(),
                CardRequestType::RepeatLastMessage,
                OverallResult::Success,
            )
        });
        response.header = header.echo();
        response.request_type = CardRequestType::RepeatLastMessage;
        response.overall_result = OverallResult::Success;
        response.original_header =
            RequestId::parse(&entry.request_id)
                .ok()
                .map(|request_id| OriginalHeader {
                    request_type: entry.request_type.clone(),
                    request_id,
                    workstation_id: entry
                        .response
                        .as_ref()
                        .map(|r| r.header.workstation_id.clone()),
                    pop_id: None,
                    application_sender: None,
                    overall_result: Some(entry.result.clone()),
                });
        response
    }

    fn report_output(&self, closure: bool) -> Output {
        let mut lines = vec![
            if closure {
                "Kassenschnitt"
            } else {
                "Zwischensumme"
            }
            .to_owned(),
            format!("Terminal-ID {}", self.config.terminal_id),
            format!("Batch {}", self.ledger.open_batch()),
        ];
        for total in self.ledger.open_totals(self.config.currency) {
            lines.push(format!(
                "{} {} {}x {} {}",
                total.card_circuit,
                total.payment_type,
                total.count,
                total.amount.currency(),
                total.amount.value_text()
            ));
        }
        Output::lines(DeviceTarget::Printer, lines.into_iter().map(TextLine::new))
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

struct CallbackTimeouts {
    output: Duration,
    input: Duration,
}

impl CallbackTimeouts {
    fn for_kind(&self, kind: CallbackKind) -> Duration {
        match kind {
            CallbackKind::Confirm => self.input,
            CallbackKind::Display | CallbackKind::Receipt => self.output,
        }
    }
}

fn callback_failed(job: &mut Job, kind: CallbackKind) {
    match kind {
        CallbackKind::Display => {}
        CallbackKind::Receipt => job.receipts_failed = true,
        CallbackKind::Confirm => job.decision = Decision::Abort,
    }
}
