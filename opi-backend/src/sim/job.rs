//! A request the simulated terminal works on over time: its steps, what it waits for, and the
//! decision it reaches.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::Scenario;
use crate::message::{CardServiceRequest, DeviceRequest, Header, Message, Output, ServiceRequest};
use crate::sim::SimLink;
use crate::sim::wire::WireStyle;

/// What kind of work.
#[derive(Debug, Clone)]
pub(crate) enum JobKind {
    /// A payment, pre-authorisation, completion, refund or reversal.
    Financial(CardServiceRequest),
    /// TicketReprint.
    Reprint(CardServiceRequest),
    /// Reconciliation (with closure or not).
    Reconciliation(ServiceRequest, bool),
    /// An answer decided at once, sent after the configured latency.
    Reply(Box<Message>),
}

/// What a callback is for, which decides what its failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackKind {
    /// A display prompt: failure changes nothing.
    Display,
    /// A receipt: failure means the receipt is not delivered (PrintLastTicket).
    Receipt,
    /// The confirmation Input: failure or "no" aborts.
    Confirm,
    /// The PIN Input: failure or no PIN aborts.
    Pin,
}

/// One step of a job.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Processing time.
    Pause(Duration),
    /// Show text on the cashier display.
    Display(&'static str),
    /// Tell the POS a card was presented (DeviceRequest `Event`).
    CardPresented,
    /// Ask the cashier to confirm.
    Confirm,
    /// Ask for a PIN.
    AskPin,
    /// Wait for a card that never comes.
    AwaitCard,
    /// Decide and record the outcome; an abort no longer aborts after this.
    Authorise,
    /// Print the decided receipts.
    Receipts,
    /// Print outputs already built (reprint, report).
    Print(Vec<Output>),
    /// Send one DeviceRequest and wait for its answer.
    Callback(Box<DeviceRequest>, CallbackKind),
    /// Close the links without answering.
    Drop,
    /// Answer on channel 0 and end.
    Respond,
}

/// What the job waits for before its next step.
#[derive(Debug, Clone)]
pub(crate) enum Wait {
    /// Nothing: run the next step.
    Nothing,
    /// A moment.
    Until(Instant),
    /// A card, until the self-abort deadline.
    Card(Instant),
    /// A channel-1 connection, to send `request` on.
    Connection {
        link: SimLink,
        request: Box<DeviceRequest>,
        kind: CallbackKind,
    },
    /// The answer to the DeviceRequest sent on `link`.
    Answer {
        link: SimLink,
        header: Box<Header>,
        kind: CallbackKind,
        deadline: Instant,
        /// The request, when it went on a shared connection that had carried an exchange
        /// already: a POS may close each connection after one answer (the protocol's rule), so
        /// if it closes this one before answering, the request goes again on a fresh one, once.
        resend: Option<Box<DeviceRequest>>,
    },
}

impl Wait {
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Self::Until(at) | Self::Card(at) | Self::Answer { deadline: at, .. } => Some(*at),
            Self::Nothing | Self::Connection { .. } => None,
        }
    }
}

/// How the job is going to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Carry on as the scenario says.
    AsScenario,
    /// Aborted (AbortRequest, "no" to the confirmation, self-abort).
    Abort,
}

/// A running job.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) kind: JobKind,
    /// The channel-0 link the request came on; `None` once the POS closed it.
    pub(crate) link: Option<SimLink>,
    pub(crate) scenario: Scenario,
    pub(crate) style: WireStyle,
    pub(crate) steps: VecDeque<Step>,
    pub(crate) wait: Wait,
    pub(crate) sequence: u32,
    /// The shared channel-1 link, once asked for, and whether it is connected.
    pub(crate) callback_link: Option<(SimLink, bool)>,
    pub(crate) decision: Decision,
    pub(crate) authorised: bool,
    pub(crate) entry: Option<usize>,
    pub(crate) receipts_failed: bool,
}

impl Job {
    pub(crate) fn new(
        kind: JobKind,
        link: SimLink,
        scenario: Scenario,
        style: WireStyle,
        steps: Vec<Step>,
    ) -> Self {
        Self {
            kind,
            link: Some(link),
            scenario,
            style,
            steps: steps.into(),
            wait: Wait::Nothing,
            sequence: 0,
            callback_link: None,
            decision: Decision::AsScenario,
            authorised: false,
            entry: None,
            receipts_failed: false,
        }
    }

    /// The channel-0 request's header.
    pub(crate) fn header(&self) -> &Header {
        match &self.kind {
            JobKind::Financial(r) | JobKind::Reprint(r) => &r.header,
            JobKind::Reconciliation(r, _) => &r.header,
            JobKind::Reply(m) => m.header(),
        }
    }

    /// The steps of a financial request under `scenario`; `card_event` tells the POS when the
    /// card is presented.
    pub(crate) fn financial_steps(
        scenario: Scenario,
        latency: Duration,
        display: bool,
        card_event: bool,
    ) -> Vec<Step> {
        let mut steps = vec![Step::Pause(latency)];
        if display {
            steps.push(Step::Display("Karte bitte"));
        }
        let card_comes = !matches!(
            scenario,
            Scenario::WaitForAbort | Scenario::DropMidCallbacks
        );
        if card_event && card_comes {
            steps.push(Step::CardPresented);
        }
        match scenario {
            Scenario::Confirm | Scenario::UndecodableInput => steps.push(Step::Confirm),
            Scenario::Pin => steps.push(Step::AskPin),
            Scenario::WaitForAbort => steps.push(Step::AwaitCard),
            Scenario::DropMidCallbacks => {
                if !display {
                    steps.push(Step::Display("Karte bitte"));
                }
                steps.extend([Step::Authorise, Step::Drop]);
                return steps;
            }
            _ => {}
        }
        steps.push(Step::Authorise);
        if scenario != Scenario::PrintLastTicket {
            steps.push(Step::Receipts);
        }
        steps.push(if scenario == Scenario::DropBeforeResponse {
            Step::Drop
        } else {
            Step::Respond
        });
        steps
    }
}
