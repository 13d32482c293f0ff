//! The simulator's ledger: every financial request it processed, with what it answered, and
//! every channel-0 request it received.
//!
//! It lives in memory, in the simulator: an EPS restart does not touch it, so tests compare the
//! EPS's view after recovery with this truth.
//!
//! Money and not money: [`Ledger::entries`] holds the financial requests the terminal processed
//! (one entry per processing, so a request sent twice shows twice), each with its
//! [`Movement`]. Service requests (Login, Diagnosis, reconciliations, …) and the card-service
//! requests that move no money (RepeatLastMessage, TicketReprint, AbortRequest) never become
//! entries; they show only in [`Ledger::received`], where [`Received::moves_money`] is false.

use eps_core::money::{Amount, Currency};

use super::SimLink;
use crate::message::{
    CardRequestType, CardServiceResponse, Message, Output, OverallResult, ServiceRequestType,
};

/// One processed financial request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The POS's RequestID.
    pub request_id: String,
    /// The OPI request type (`CardPayment`, `PaymentRefund`, …).
    pub request_type: String,
    /// The amount asked for.
    pub amount: Option<Amount>,
    /// The result the terminal reached (whether or not the answer reached the POS).
    pub result: OverallResult,
    /// The terminal's trace number.
    pub stan: Option<String>,
    /// The approval code, on approvals.
    pub approval_code: Option<String>,
    /// The card scheme.
    pub card_circuit: Option<String>,
    /// The masked card number.
    pub masked_pan: Option<String>,
    /// The STAN of the transaction this one refers to (reversal, refund, completion).
    pub original_stan: Option<String>,
    /// A reversal cancelled this transaction.
    pub reversed: bool,
    /// A refund referred to this transaction.
    pub refunded: bool,
    /// A financial advice settled this pre-authorisation.
    pub completed: bool,
    /// The batch it was closed in; `None` while the batch is open.
    pub batch: Option<u32>,
    /// Whether the POS acknowledged every receipt.
    pub receipts_delivered: bool,
    /// The receipt outputs (customer, merchant), for TicketReprint.
    pub(crate) receipts: Vec<Output>,
    /// The answer as built (sent or not), for RepeatLastMessage.
    pub(crate) response: Option<CardServiceResponse>,
}

impl LedgerEntry {
    /// Whether the terminal approved it.
    pub fn approved(&self) -> bool {
        self.result == OverallResult::Success
    }

    /// The card number exactly as the terminal put it in its answer's `Authorisation@CardPAN`
    /// (whole in the full-PAN mode).
    pub fn card_pan_sent(&self) -> Option<&str> {
        let authorisation = self.response.as_ref()?.authorisation()?;
        authorisation.card_pan.as_ref().map(|pan| pan.as_sent())
    }

    /// The error text of its answer, as sent.
    pub fn error_text_sent(&self) -> Option<&str> {
        self.response.as_ref()?.private_data.as_ref()?.error_text()
    }

    /// The lines of the receipts it printed, as sent.
    pub fn receipt_lines(&self) -> Vec<&str> {
        self.receipts
            .iter()
            .flat_map(|output| output.text_lines.iter().map(|line| line.text.as_str()))
            .collect()
    }

    /// What it does to money; `None` for a request type this ledger cannot classify.
    pub fn movement(&self) -> Option<Movement> {
        Movement::of(&CardRequestType::parse(&self.request_type))
    }
}

/// What an approved financial request does to money, as the terminal counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Movement {
    /// Takes money from the card: `CardPayment`, `CardFinancialAdvice` (a completion).
    Capture,
    /// Reserves money without taking it: `CardPreAuthorisation`.
    Reserve,
    /// Gives money back to the card: `PaymentRefund`.
    Return,
    /// Cancels an earlier transaction: `PaymentReversal`, `PreAuthReversal`, `RefundReversal`.
    /// It moves nothing itself; the transaction it cancelled is marked `reversed`.
    Cancel,
}

impl Movement {
    /// The movement of a card-service request type; `None` when it moves no money.
    pub fn of(request_type: &CardRequestType) -> Option<Self> {
        use CardRequestType as T;
        match request_type {
            T::CardPayment | T::CardFinancialAdvice => Some(Self::Capture),
            T::CardPreAuthorisation => Some(Self::Reserve),
            T::PaymentRefund => Some(Self::Return),
            T::PaymentReversal | T::PreAuthReversal | T::RefundReversal => Some(Self::Cancel),
            _ => None,
        }
    }
}

/// The type of a channel-0 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// A CardServiceRequest.
    Card(CardRequestType),
    /// A ServiceRequest (Login, Diagnosis, Reconciliation, …).
    Service(ServiceRequestType),
    /// A well-formed request the simulator could not decode (answered `FormatError`), by the
    /// `RequestType` it carried.
    Undecodable(String),
}

impl RequestKind {
    /// The OPI `RequestType` as sent (`Login`, `ActivateTerminal`, `CardPayment`, …).
    pub fn name(&self) -> &str {
        match self {
            Self::Card(t) => t.as_str(),
            Self::Service(t) => t.as_str(),
            Self::Undecodable(t) => t,
        }
    }
}

/// A channel-0 request as the terminal received it, whatever became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The connection it arrived on.
    pub link: SimLink,
    /// Its type.
    pub kind: RequestKind,
    /// The POS's RequestID.
    pub request_id: String,
}

impl Received {
    /// Whether it is a financial request (one that becomes a ledger entry once processed).
    pub fn moves_money(&self) -> bool {
        matches!(&self.kind, RequestKind::Card(t) if Movement::of(t).is_some())
    }

    /// Whether it is an AbortRequest (card or service).
    pub fn is_abort(&self) -> bool {
        matches!(
            &self.kind,
            RequestKind::Card(CardRequestType::AbortRequest)
                | RequestKind::Service(ServiceRequestType::AbortRequest)
        )
    }
}

/// A DeviceResponse the terminal got for one of its callbacks (tests check what the POS said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    /// The RequestID it echoes.
    pub request_id: String,
    /// The `RequestType` it echoes (`Output`, `Input`, …).
    pub request_type: String,
    /// Its `OverallResult`.
    pub result: OverallResult,
}

/// One line of totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// The scheme.
    pub card_circuit: String,
    /// `Debit` (payments, completions) or `Credit` (refunds).
    pub payment_type: &'static str,
    /// How many.
    pub count: u32,
    /// Their sum.
    pub amount: Amount,
}

/// All processed financial requests, in order.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
    received: Vec<Received>,
    closed_batches: u32,
}

impl Ledger {
    /// Every entry, oldest first, duplicates included.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// The newest entry for a RequestID (see [`Ledger::entries_for`] for all of them).
    pub fn by_request_id(&self, request_id: &str) -> Option<&LedgerEntry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.request_id == request_id)
    }

    /// Every entry for a RequestID, oldest first: more than one means it was processed twice.
    pub fn entries_for<'a>(&'a self, request_id: &'a str) -> impl Iterator<Item = &'a LedgerEntry> {
        self.entries
            .iter()
            .filter(move |e| e.request_id == request_id)
    }

    /// Every channel-0 request received, oldest first, money or not, processed or refused.
    pub fn received(&self) -> &[Received] {
        &self.received
    }

    /// Records a message that arrived on channel 0 (anything but a request is ignored).
    /// Records a well-formed request that could not be decoded (it was answered `FormatError`).
    pub(crate) fn note_undecodable(&mut self, link: SimLink, request_id: &str, request_type: &str) {
        self.received.push(Received {
            link,
            kind: RequestKind::Undecodable(request_type.to_owned()),
            request_id: request_id.to_owned(),
        });
    }

    pub(crate) fn note_received(&mut self, link: SimLink, message: &Message) {
        let (kind, request_id) = match message {
            Message::CardServiceRequest(r) => (
                RequestKind::Card(r.request_type.clone()),
                r.header.request_id.as_str(),
            ),
            Message::ServiceRequest(r) => (
                RequestKind::Service(r.request_type.clone()),
                r.header.request_id.as_str(),
            ),
            _ => return,
        };
        self.received.push(Received {
            link,
            kind,
            request_id: request_id.to_owned(),
        });
    }

    /// The most recent entry.
    pub fn last(&self) -> Option<&LedgerEntry> {
        self.entries.last()
    }

    pub(crate) fn push(&mut self, entry: LedgerEntry) -> usize {
        self.entries.push(entry);
        self.entries.len() - 1
    }

    pub(crate) fn entry_mut(&mut self, index: usize) -> Option<&mut LedgerEntry> {
        self.entries.get_mut(index)
    }

    /// The approved entry of `request_types` with `stan` (or the last approved one of those
    /// types when no STAN is given, as Swiss ep2 reverses "the last transaction").
    pub(crate) fn find_original(
        &self,
        stan: Option<&str>,
        request_types: &[&str],
    ) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, e)| e.approved() && request_types.contains(&e.request_type.as_str()))
            .find(|(_, e)| stan.is_none_or(|s| e.stan.as_deref() == Some(s)))
            .map(|(i, _)| i)
    }

    /// Totals of the open batch per scheme and payment type: approved, unreversed payments and
    /// completions as `Debit`, refunds as `Credit`.
    pub fn open_totals(&self, currency: Currency) -> Vec<Totals> {
        let mut totals: Vec<Totals> = Vec::new();
        for entry in self
            .entries
            .iter()
            .filter(|e| e.batch.is_none() && e.approved() && !e.reversed)
        {
            let payment_type = match entry.request_type.as_str() {
                "CardPayment" | "CardFinancialAdvice" => "Debit",
                "PaymentRefund" => "Credit",
                _ => continue,
            };
            let Some(amount) = entry.amount.filter(|a| a.currency() == currency) else {
                continue;
            };
            let circuit = entry.card_circuit.clone().unwrap_or_default();
            match totals
                .iter_mut()
                .find(|t| t.card_circuit == circuit && t.payment_type == payment_type)
            {
                Some(line) => {
                    line.count += 1;
                    line.amount = line.amount.checked_add(amount).unwrap_or(line.amount);
                }
                None => totals.push(Totals {
                    card_circuit: circuit,
                    payment_type,
                    count: 1,
                    amount,
                }),
            }
        }
        totals
    }

    /// Closes the open batch; returns its number.
    pub(crate) fn close_batch(&mut self) -> u32 {
        self.closed_batches += 1;
        let batch = self.closed_batches;
        for entry in self.entries.iter_mut().filter(|e| e.batch.is_none()) {
            entry.batch = Some(batch);
        }
        batch
    }

    /// The number the next closed batch will get.
    pub fn open_batch(&self) -> u32 {
        self.closed_batches + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(request_type: &str, cents: i64, circuit: &str, stan: &str) -> LedgerEntry {
        LedgerEntry {
            request_id: stan.to_owned(),
            request_type: request_type.to_owned(),
            amount: Some(Amount::from_minor(cents, Currency::EUR).unwrap()),
            result: OverallResult::Success,
            stan: Some(stan.to_owned()),
            approval_code: None,
            card_circuit: Some(circuit.to_owned()),
            masked_pan: None,
            original_stan: None,
            reversed: false,
            refunded: false,
            completed: false,
            batch: None,
            receipts_delivered: true,
            receipts: Vec::new(),
            response: None,
        }
    }

    #[test]
    fn totals_group_and_skip_reversed_and_closed() {
        let mut ledger = Ledger::default();
        ledger.push(entry("CardPayment", 1000, "VISA", "1"));
        ledger.push(entry("CardPayment", 250, "VISA", "2"));
        let reversed = ledger.push(entry("CardPayment", 999, "VISA", "3"));
        ledger.entry_mut(reversed).unwrap().reversed = true;
        ledger.push(entry("PaymentRefund", 100, "girocard", "4"));
        ledger.push(entry("CardPreAuthorisation", 5000, "VISA", "5"));
        let totals = ledger.open_totals(Currency::EUR);
        assert_eq!(totals.len(), 2);
        assert_eq!((totals[0].count, totals[0].amount.minor()), (2, 1250));
        assert_eq!(totals[1].payment_type, "Credit");
        assert_eq!(ledger.find_original(Some("2"), &["CardPayment"]), Some(1));
        assert_eq!(ledger.find_original(None, &["CardPayment"]), Some(2));
        assert_eq!(ledger.close_batch(), 1);
        assert!(ledger.open_totals(Currency::EUR).is_empty());
        assert_eq!(ledger.open_batch(), 2);
    }
}
