//! What a conversation asks of the terminal, and the channel-0 message that asks it.

use eps_core::money::Amount;
use eps_core::terminal::{CardOperation, OriginalTransaction as DomainOriginal};
use time::OffsetDateTime;

use crate::message::{
    CardRequestType, CardServiceRequest, DiagnosisMethod, Header, Message, OriginalTransaction,
    PosData, RequestId, ServiceRequest, ServiceRequestType, Timestamp, TotalAmount, ValueError,
};
use crate::profile::{EndOfDay, SessionStart, TerminalProfile};

/// Who the EPS is toward one terminal: the root attributes it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `WorkstationID`.
    pub workstation_id: String,
    /// `POPID`.
    pub pop_id: Option<String>,
    /// `ApplicationSender`.
    pub application_sender: String,
}

/// One request a conversation carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// A financial card operation.
    Card(CardOperation),
    /// Ask for the last request and its answer (RepeatLastMessage).
    RepeatLastMessage,
    /// Print the last receipt again (TicketReprint).
    TicketReprint,
    /// End-of-day totals, closing the batch when `closure` is set.
    Reconciliation {
        /// ReconciliationWithClosure (or the profile's CloseDay) rather than Reconciliation.
        closure: bool,
    },
    /// Submit the transactions the terminal stored (ep2's TransmitTrx, before CloseDay).
    TransmitTransactions,
    /// Open the session (Login or ActivateTerminal).
    SessionStart(SessionStart),
    /// End the session (Logoff, or DeactivateTerminal for a session started by ActivateTerminal).
    SessionEnd(SessionStart),
    /// Health check (Diagnosis, local).
    Diagnosis,
}

/// The time limits one conversation runs under, taken from the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Silence allowed between answers and callbacks.
    pub(crate) idle: std::time::Duration,
    /// The whole exchange after the request is written.
    pub(crate) cap: std::time::Duration,
}

impl Operation {
    /// Whether money may move: such a request is never sent twice.
    pub fn is_financial(&self) -> bool {
        matches!(self, Self::Card(_))
    }

    /// The OPI `RequestType` this operation is sent as to a terminal with `profile` (which names
    /// the reversals).
    pub fn request_type<'a>(&'a self, profile: &'a TerminalProfile) -> &'a str {
        match self {
            Self::Card(CardOperation::Payment { .. }) => "CardPayment",
            Self::Card(CardOperation::PreAuthorisation { .. }) => "CardPreAuthorisation",
            Self::Card(CardOperation::Completion { .. }) => "CardFinancialAdvice",
            Self::Card(CardOperation::Refund { .. }) => "PaymentRefund",
            Self::Card(CardOperation::Reversal { reverses, .. }) => {
                profile.reversals.for_kind(*reverses)
            }
            Self::RepeatLastMessage => "RepeatLastMessage",
            Self::TicketReprint => "TicketReprint",
            Self::Reconciliation { closure: true } => match profile.end_of_day {
                EndOfDay::ReconciliationWithClosure => "ReconciliationWithClosure",
                EndOfDay::TransmitThenCloseDay => "CloseDay",
            },
            Self::Reconciliation { closure: false } => "Reconciliation",
            Self::TransmitTransactions => "TransmitTrx",
            Self::SessionStart(SessionStart::ActivateTerminal) => "ActivateTerminal",
            Self::SessionStart(_) => "Login",
            Self::SessionEnd(SessionStart::ActivateTerminal) => "DeactivateTerminal",
            Self::SessionEnd(_) => "Logoff",
            Self::Diagnosis => "Diagnosis",
        }
    }

    /// Whether the answer is a CardServiceResponse (else a ServiceResponse).
    pub(crate) fn is_card_service(&self) -> bool {
        matches!(
            self,
            Self::Card(_) | Self::RepeatLastMessage | Self::TicketReprint
        )
    }

    /// The amount asked for, if any.
    pub fn amount(&self) -> Option<Amount> {
        match self {
            Self::Card(
                CardOperation::Payment { amount }
                | CardOperation::PreAuthorisation { amount }
                | CardOperation::Completion { amount, .. }
                | CardOperation::Refund { amount, .. }
                | CardOperation::Reversal { amount, .. },
            ) => Some(*amount),
            _ => None,
        }
    }

    pub(crate) fn limits(&self, profile: &TerminalProfile) -> Limits {
        let t = &profile.timers;
        match self {
            Self::Card(_) | Self::TicketReprint => Limits {
                idle: t.idle,
                cap: t.hard_cap,
            },
            Self::Reconciliation { .. } | Self::TransmitTransactions => Limits {
                idle: t.idle.min(t.reconciliation),
                cap: t.reconciliation,
            },
            Self::RepeatLastMessage
            | Self::SessionStart(_)
            | Self::SessionEnd(_)
            | Self::Diagnosis => Limits {
                idle: t.service,
                cap: t.service,
            },
        }
    }

    /// The channel-0 message asking for this operation.
    pub fn to_message(
        &self,
        id: &RequestId,
        identity: &Identity,
        profile: &TerminalProfile,
        wall: OffsetDateTime,
    ) -> Result<Message, ValueError> {
        let mut header = Header::new(id.clone(), identity.workstation_id.clone());
        header.pop_id.clone_from(&identity.pop_id);
        header.application_sender = Some(identity.application_sender.clone());
        let mut pos_data = PosData::at(Timestamp::from_datetime(wall)?);
        pos_data.language_code.clone_from(&profile.language);
        let card =
            |request_type| CardServiceRequest::new(header.clone(), request_type, pos_data.clone());
        let service =
            |request_type| ServiceRequest::new(header.clone(), request_type, pos_data.clone());
        Ok(match self {
            Self::Card(op) => {
                let mut request = card(CardRequestType::parse(self.request_type(profile)));
                request.total_amount = self.amount().map(TotalAmount::new);
                request.original_transaction = original(op).map(to_wire_original).transpose()?;
                request.into()
            }
            Self::RepeatLastMessage => card(CardRequestType::RepeatLastMessage).into(),
            Self::TicketReprint => card(CardRequestType::TicketReprint).into(),
            Self::Reconciliation { .. }
            | Self::TransmitTransactions
            | Self::SessionStart(_)
            | Self::SessionEnd(_) => {
                service(ServiceRequestType::parse(self.request_type(profile))).into()
            }
            Self::Diagnosis => {
                let mut request = service(ServiceRequestType::Diagnosis);
                if let Some(pos) = request.pos_data.as_mut() {
                    pos.diagnosis_method = Some(DiagnosisMethod::Local);
                }
                request.into()
            }
        })
    }
}

/// The AbortRequest for a pending request (a CardServiceRequest, as S1, S2 and S7 send it).
pub(crate) fn abort_message(
    id: &RequestId,
    identity: &Identity,
    wall: OffsetDateTime,
) -> Result<Message, ValueError> {
    let mut header = Header::new(id.clone(), identity.workstation_id.clone());
    header.pop_id.clone_from(&identity.pop_id);
    header.application_sender = Some(identity.application_sender.clone());
    let pos_data = PosData::at(Timestamp::from_datetime(wall)?);
    Ok(CardServiceRequest::new(header, CardRequestType::AbortRequest, pos_data).into())
}

fn original(op: &CardOperation) -> Option<&DomainOriginal> {
    match op {
        CardOperation::Completion { original, .. } | CardOperation::Reversal { original, .. } => {
            Some(original)
        }
        CardOperation::Refund { original, .. } => original.as_ref(),
        CardOperation::Payment { .. } | CardOperation::PreAuthorisation { .. } => None,
    }
}

fn to_wire_original(original: &DomainOriginal) -> Result<OriginalTransaction, ValueError> {
    Ok(OriginalTransaction {
        terminal_id: original.terminal_id.clone(),
        stan: original.stan.clone(),
        timestamp: original
            .timestamp
            .as_deref()
            .map(Timestamp::parse)
            .transpose()?,
        approval_code: original.approval_code.clone(),
        ..OriginalTransaction::default()
    })
}
